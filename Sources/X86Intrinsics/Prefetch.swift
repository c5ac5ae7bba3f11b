// Software prefetch, which Swift has no spelling for: LLVM's generic llvm.prefetch,
// reached through the Builtin module like the instructions in PackedInt16.swift
// (prefetcht0 on x86).
import Swift

/// Asks the CPU to bring the cache line at `address` into L1 ahead of a read. A hint: it
/// never faults, so an address past the end of a mapping is harmless.
@inlinable @inline(__always)
public func prefetchForReading(_ address: UnsafeRawPointer) {
    // (address, rw = 0: read, locality = 3: keep in all levels, cache type = 1: data)
    Builtin.int_prefetch_RawPointer(address._rawValue, Int32(0)._value, Int32(3)._value, Int32(1)._value)
}
