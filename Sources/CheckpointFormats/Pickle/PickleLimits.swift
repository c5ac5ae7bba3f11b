/// Bounds on what a pickle may make the machine hold, so a hostile file fails with
/// `CheckpointFormatError.limitExceeded` instead of exhausting memory or the call stack.
///
/// The defaults are far above what torch.save writes for the largest models the platform
/// uses (nllb-200-3.3B: ~1,200 tensors, a few dozen values each).
public struct PickleLimits: Sendable {
    public var maxStackDepth = 100_000
    public var maxMemoEntries = 1_000_000
    public var maxObjects = 10_000_000
    public var maxStringBytes = 1 << 20
    public var maxNesting = 64

    public init() {}
}
