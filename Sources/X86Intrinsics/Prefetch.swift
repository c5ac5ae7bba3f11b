// Software prefetch, which Swift has no spelling for: LLVM's generic llvm.prefetch,
// reached through the Builtin module like the instructions in PackedInt16.swift
// (prefetcht0 or prefetcht1 on x86).
import Swift

/// Asks the CPU to bring the cache line at `address` into L1 ahead of a read. A hint: it
/// never faults, so an address past the end of a mapping is harmless.
@inlinable @inline(__always)
public func prefetchForReading(_ address: UnsafeRawPointer) {
    // (address, rw = 0: read, locality = 3: keep in all levels, cache type = 1: data)
    Builtin.int_prefetch_RawPointer(address._rawValue, Int32(0)._value, Int32(3)._value, Int32(1)._value)
}

/// Asks the CPU to bring the cache line at `address` into L2 but not L1 (prefetcht1), for data
/// needed soon that would otherwise push out what L1 is reusing.
@inlinable @inline(__always)
public func prefetchIntoL2(_ address: UnsafeRawPointer) {
    // locality = 2: prefetcht1
    Builtin.int_prefetch_RawPointer(address._rawValue, Int32(0)._value, Int32(2)._value, Int32(1)._value)
}
