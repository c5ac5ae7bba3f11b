// The x86 PAUSE instruction, reached through the Builtin module like the instructions in
// PackedInt16.swift.
import Swift

#if arch(x86_64)
    /// One turn of a spin-wait loop: PAUSE tells the core this is a spin, so it stops
    /// speculating ahead through the loop (no memory-order flush when the awaited store lands)
    /// and leaves execution resources to an SMT sibling, which a hypervisor may have
    /// scheduled on the same physical core.
    @inlinable @inline(__always)
    public func spinLoopHint() {
        Builtin.int_x86_sse2_pause()
    }
#endif
