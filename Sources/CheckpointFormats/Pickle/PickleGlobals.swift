/// The callables a state dict pickle may name. Everything else (`os.system`, `builtins.eval`,
/// `posix.system`, any class of the writer's program) is refused when GLOBAL names it, before
/// anything could be called; and nothing named here is ever called either, only recorded.
public enum PickleGlobals {
    public static let orderedDict = "collections.OrderedDict"
    /// A dict subclass torch's loader also allows; read like an OrderedDict.
    public static let counter = "collections.Counter"
    public static let rebuildTensor = "torch._utils._rebuild_tensor_v2"
    public static let rebuildParameter = "torch._utils._rebuild_parameter"
    public static let rebuildParameterWithState = "torch._utils._rebuild_parameter_with_state"
    public static let device = "torch.device"

    /// The typed storage classes, by the element type they hold.
    public static let storages: [String: TorchDType] = [
        "torch.FloatStorage": .f32, "torch.HalfStorage": .f16, "torch.BFloat16Storage": .bf16,
        "torch.DoubleStorage": .f64, "torch.LongStorage": .i64, "torch.IntStorage": .i32,
        "torch.ShortStorage": .i16, "torch.CharStorage": .i8, "torch.ByteStorage": .u8, "torch.BoolStorage": .bool,
        // The byte-addressed storage, under the only name torch's weights-only loader allows.
        "torch.storage.UntypedStorage": .u8,
    ]

    static let allowed: Set<String> = Set(storages.keys).union([
        orderedDict, counter, rebuildTensor, rebuildParameter, rebuildParameterWithState, device,
    ])

    public static func isAllowed(_ name: String) -> Bool { allowed.contains(name) }
}
