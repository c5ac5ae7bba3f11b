import Foundation

/// Scratch memory that each calling thread keeps between kernel calls, so that a decode step
/// allocates nothing: a buffer per `Slot` per thread, grown when a call needs more than it
/// holds (in the first steps) and kept until the thread ends.
///
/// `withUnsafeTemporaryAllocation` was used before; it takes the stack only for small sizes
/// and alignments up to 16 bytes, and otherwise calls malloc, which it did on every int8
/// product (64-byte aligned activations) and every few-row product's partial sums.
public enum ThreadScratch {
    /// What a buffer holds; a slot is not reentrant (one use per thread at a time), and each
    /// use names its own slot, so kernels may hold different slots at once.
    public enum Slot: Int, CaseIterable {
        /// An int8 product's quantized activation rows.
        case quantizedActivations
        /// An int8 product's per-row activation scales.
        case activationScales
        /// A few-row product's partial sums, one block per thread.
        case partialProducts
        /// A 4-bit product's scales of the weight row at hand, as floats.
        case q4RowScales
    }

    /// Calls `body` with at least `byteCount` bytes, 64-byte aligned, of this thread's `slot`.
    /// Their contents are whatever the last use left.
    @inline(__always)
    public static func withBytes<R>(_ slot: Slot, byteCount: Int, _ body: (UnsafeMutableRawPointer) throws -> R)
        rethrows -> R
    {
        let buffers = ThreadBuffers.current
        let pointer = buffers.acquire(slot.rawValue, byteCount: byteCount)
        defer { buffers.release(slot.rawValue) }
        return try body(pointer)
    }

    /// `withBytes` for `count` floats.
    @inline(__always)
    public static func withFloats<R>(_ slot: Slot, count: Int, _ body: (UnsafeMutablePointer<Float>) throws -> R)
        rethrows -> R
    {
        try withBytes(slot, byteCount: count * MemoryLayout<Float>.stride) {
            try body($0.assumingMemoryBound(to: Float.self))
        }
    }
}

/// One thread's buffers, found through a pthread key and freed by its destructor when the
/// thread exits.
final class ThreadBuffers {
    private var pointers = [UnsafeMutableRawPointer?](repeating: nil, count: ThreadScratch.Slot.allCases.count)
    private var capacities = [Int](repeating: 0, count: ThreadScratch.Slot.allCases.count)
    private var inUse = [Bool](repeating: false, count: ThreadScratch.Slot.allCases.count)

    private static let key: pthread_key_t = {
        var key = pthread_key_t()
        let status = pthread_key_create(&key) { raw in
            if let raw { Unmanaged<ThreadBuffers>.fromOpaque(raw).release() }
        }
        precondition(status == 0, "pthread_key_create failed: \(status)")
        return key
    }()

    static var current: ThreadBuffers {
        if let raw = pthread_getspecific(key) { return Unmanaged<ThreadBuffers>.fromOpaque(raw).takeUnretainedValue() }
        let buffers = ThreadBuffers()
        pthread_setspecific(key, Unmanaged.passRetained(buffers).toOpaque())
        return buffers
    }

    func acquire(_ slot: Int, byteCount: Int) -> UnsafeMutableRawPointer {
        precondition(!inUse[slot], "ThreadScratch slot \(slot) used twice at once on one thread")
        inUse[slot] = true
        let needed = max(byteCount, 64)
        if capacities[slot] < needed {
            pointers[slot]?.deallocate()
            // Rounded up so that slowly growing requests do not reallocate every time.
            let capacity = max(needed, capacities[slot] * 2)
            pointers[slot] = .allocate(byteCount: capacity, alignment: 64)
            capacities[slot] = capacity
        }
        return pointers[slot]!
    }

    func release(_ slot: Int) { inUse[slot] = false }

    deinit {
        for pointer in pointers { pointer?.deallocate() }
    }
}
