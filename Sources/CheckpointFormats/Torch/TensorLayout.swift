/// A tensor as `torch._utils._rebuild_tensor_v2(storage, offset, size, stride, ...)` describes
/// it, before its storage has been located in the file.
struct TensorLayout {
    let name: String
    let storageKey: String
    let storageOffset: Int
    let shape: [Int]
    let strides: [Int]

    static let maxDimensions = 16

    /// The tensors of a state dict: the root dict's tensor values, or those of a nested
    /// `state_dict` / `model` dict when the root holds none (a training checkpoint). Other
    /// values (step counters, `_metadata`) are skipped.
    static func collect(_ root: PickleValue, storages: StorageTable, path: String) throws -> [TensorLayout] {
        guard case .dict(let dict) = root else {
            throw CheckpointFormatError.unsupportedLayout(
                path: path,
                reason: "the checkpoint is not a dict of "
                    + "tensors")
        }
        var layouts: [TensorLayout] = []
        for (key, value) in zip(dict.keys, dict.values) {
            guard let name = key.string else {
                // A tensor without a name cannot be loaded into a model, and must not vanish silently.
                if try TensorLayout(value, name: "\(key)", storages: storages, path: path) != nil {
                    throw CheckpointFormatError.unsupportedLayout(
                        path: path, reason: "a tensor is stored under the key \(key), which is not a string name")
                }
                continue
            }
            guard let layout = try TensorLayout(value, name: name, storages: storages, path: path) else { continue }
            layouts.append(layout)
        }
        if layouts.isEmpty {
            for nested in ["state_dict", "model", "module"] {
                if let inner = dict.value(forKey: nested), case .dict = inner {
                    return try collect(inner, storages: storages, path: path)
                }
            }
        }
        return layouts
    }

    /// The layout of `value` when it is a rebuilt tensor or parameter, else nil.
    init?(_ value: PickleValue, name: String, storages: StorageTable, path: String) throws {
        guard case .object(let object) = value else { return nil }
        func bad(_ reason: String) -> CheckpointFormatError {
            .malformedTensor(path: path, tensor: name, reason: reason)
        }
        switch object.callable {
        case PickleGlobals.rebuildParameter, PickleGlobals.rebuildParameterWithState:
            // (data, requires_grad, backward_hooks[, state]), as torch._utils defines them.
            let arity = object.callable == PickleGlobals.rebuildParameter ? 3 : 4
            guard object.arguments.count == arity, case .object(let inner) = object.arguments[0],
                inner.callable == PickleGlobals.rebuildTensor
            else { throw bad("a parameter without a tensor") }
            try self.init(rebuild: inner, name: name, storages: storages, path: path)
            try Self.checkRequiresGrad(object.arguments[1], dtype: storages.byKey[storageKey]?.dtype, bad)
        case PickleGlobals.rebuildTensor:
            try self.init(rebuild: object, name: name, storages: storages, path: path)
        default:
            return nil
        }
    }

    /// torch sets `requires_grad` on each tensor it rebuilds: a bool, true only for floats.
    private static func checkRequiresGrad(
        _ value: PickleValue, dtype: TorchDType?,
        _ bad: (String) -> CheckpointFormatError
    ) throws {
        guard case .bool(let flag) = value else { throw bad("its requires_grad is not a bool") }
        if flag, let dtype, ![.f32, .f16, .bf16, .f64].contains(dtype) {
            throw bad("it requires grad but holds \(dtype.rawValue), which torch refuses")
        }
    }

    /// `_rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata])`.
    private init(rebuild: PickleObject, name: String, storages: StorageTable, path: String) throws {
        let arguments = rebuild.arguments
        func bad(_ reason: String) -> CheckpointFormatError {
            .malformedTensor(path: path, tensor: name, reason: reason)
        }
        guard arguments.count == 6 || arguments.count == 7 else {
            throw bad("_rebuild_tensor_v2 takes 6 or 7 arguments, not \(arguments.count)")
        }
        guard case .persistent(let id) = arguments[0], let key = storages.key(of: id), let storage = storages.byKey[key]
        else { throw bad("no storage reference") }
        try Self.checkRequiresGrad(arguments[4], dtype: storage.dtype, bad)
        if arguments.count == 7 {
            // Tensor metadata (set only by a few subclasses) is read by torch when not empty.
            switch arguments[6] {
            case .none, .bool(false), .int(0): break
            case .tuple(let items) where items.isEmpty: break
            case .dict(let metadata) where metadata.values.allSatisfy({ if case .bool = $0 { true } else { false } }):
                break  // torch's dict[str, bool] of tensor flags: nothing this reader uses
            default: throw bad("its tensor metadata is not a dict of flags")
            }
        }
        guard let offset = arguments[1].int, offset >= 0 else {
            throw bad("its storage offset is not a non-negative integer")
        }
        guard let sizes = arguments[2].tuple, let strides = arguments[3].tuple, sizes.count == strides.count,
            sizes.count <= Self.maxDimensions
        else { throw bad("its sizes and strides do not match") }
        var shape: [Int] = []
        var steps: [Int] = []
        for (size, stride) in zip(sizes, strides) {
            guard let size = size.int, size >= 0, let stride = stride.int, stride >= 0 else {
                throw bad("sizes and strides must be non-negative integers")
            }
            shape.append(size)
            steps.append(stride)
        }
        self.name = name
        self.storageKey = key
        self.storageOffset = offset
        self.shape = shape
        self.strides = steps
    }

    /// How many elements of its storage the tensor needs (its last element reached, plus one);
    /// nil when it has none or the arithmetic overflows.
    var elementsReached: Int? {
        var last = storageOffset
        for (size, stride) in zip(shape, strides) {
            guard size > 0 else { return nil }
            let reach = (size - 1).multipliedReportingOverflow(by: stride)
            let sum = last.addingReportingOverflow(reach.partialValue)
            guard !reach.overflow, !sum.overflow else { return nil }
            last = sum.partialValue
        }
        return last < Int.max ? last + 1 : nil
    }

    /// The checked record: every element the shape and strides reach lies inside the storage.
    func record(storages: StorageTable, ranges: [String: Range<Int>], path: String) throws -> TorchTensorRecord {
        func bad(_ reason: String) -> CheckpointFormatError {
            .malformedTensor(path: path, tensor: name, reason: reason)
        }
        guard let storage = storages.byKey[storageKey], let range = ranges[storageKey] else {
            throw CheckpointFormatError.missingEntry(path: path, entry: "data/" + storageKey)
        }
        var count = 1
        var last = storageOffset
        for (size, stride) in zip(shape, strides) {
            let product = count.multipliedReportingOverflow(by: size)
            guard !product.overflow else { throw bad("its element count overflows") }
            count = product.partialValue
            guard size > 0 else { continue }
            let reach = (size - 1).multipliedReportingOverflow(by: stride)
            let sum = last.addingReportingOverflow(reach.partialValue)
            guard !reach.overflow, !sum.overflow else { throw bad("its strides overflow") }
            last = sum.partialValue
        }
        // torch accepts any offset for an empty tensor; it is clamped to the storage so that its
        // (empty) byte range still lies in the file.
        let offset = count == 0 ? min(storageOffset, storage.elementCount) : storageOffset
        if count > 0, last >= storage.elementCount {
            throw bad("it reaches element \(last) of a \(storage.elementCount)-element storage '\(storageKey)'")
        }
        guard !count.multipliedReportingOverflow(by: storage.dtype.size).overflow else {
            throw bad("its byte size overflows")
        }
        return TorchTensorRecord(
            name: name, dtype: storage.dtype, shape: shape, strides: strides,
            storageOffset: offset, storageKey: storageKey, storageRange: range)
    }
}
