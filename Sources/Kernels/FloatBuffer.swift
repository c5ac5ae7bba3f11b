/// fp32 memory a model reads from: either borrowed from a file mapping (no copy)
/// or owned (widened or converted at load, or a workspace).
///
#if canImport(Glibc)
    import Glibc
#endif

/// A class so that many layers can share one buffer and the owner (mapping or
/// allocation) is released exactly once.
///
/// Sendable by hand: an immutable view of memory it owns or keeps alive (raw pointers are not Sendable).
public final class FloatBuffer: @unchecked Sendable {
    public let pointer: UnsafePointer<Float>
    public let count: Int
    private let owner: AnyObject?
    private let ownsMemory: Bool

    /// A new zero-filled buffer, 64-byte aligned for the SIMD kernels.
    public init(count: Int) {
        let bytes = max(count, 1) * MemoryLayout<Float>.stride
        let raw = UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: 64)
        raw.initializeMemory(as: UInt8.self, repeating: 0, count: bytes)
        pointer = UnsafePointer(raw.bindMemory(to: Float.self, capacity: max(count, 1)))
        self.count = count
        owner = nil
        ownsMemory = true
    }

    /// A view of floats owned by something else, kept alive by `owner`.
    public init(borrowing pointer: UnsafePointer<Float>, count: Int, owner: AnyObject) {
        self.pointer = pointer
        self.count = count
        self.owner = owner
        ownsMemory = false
    }

    /// Whether the floats live in a file mapping rather than in memory of our own.
    public var isMapped: Bool { !ownsMemory }

    /// Writable access; only meaningful for owned buffers (workspaces, converted weights).
    public var mutablePointer: UnsafeMutablePointer<Float> {
        precondition(ownsMemory, "a mapped weight buffer is read-only")
        return UnsafeMutablePointer(mutating: pointer)
    }

    /// The floats as a pointer range. Valid only while this object is alive:
    /// hold the `FloatBuffer` (or use `toArray()`) for as long as the pointer is read.
    public var buffer: UnsafeBufferPointer<Float> { UnsafeBufferPointer(start: pointer, count: count) }

    /// Lets the kernel drop the file pages behind a mapped buffer that has been converted
    /// (to int8 or f16) and will not be read again, so they stop counting in the resident
    /// set. Reading them later is still correct: the pages come back from the file.
    public func releaseMappedPages() {
        releaseMappedPages(elements: 0..<count)
    }

    /// Keeps the file pages behind a mapped buffer that is about to be converted on 4 KiB
    /// pages: a 2 MiB mapping of a file read in large folios comes back whole when the next
    /// rows of it are read, so the pages given back block by block would stay resident.
    public func adviseReadOnceInBlocks() {
        guard isMapped, count > 0 else { return }
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let start = Int(bitPattern: pointer) / page * page
        let end = (Int(bitPattern: pointer) + count * 4 + page - 1) / page * page
        guard let address = UnsafeMutableRawPointer(bitPattern: start) else { return }
        _ = madvise(address, end - start, MADV_NOHUGEPAGE)
    }

    /// `releaseMappedPages()` for the pages that lie wholly inside `elements`: a matrix
    /// converted a block of rows at a time gives each block's pages back as it goes, so the
    /// resident set never holds more than one block of the floats.
    public func releaseMappedPages(elements: Range<Int>) {
        guard isMapped, !elements.isEmpty else { return }
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let first = Int(bitPattern: pointer) + elements.lowerBound * 4
        let last = Int(bitPattern: pointer) + elements.upperBound * 4
        let start = (first + page - 1) / page * page
        let end = last / page * page
        guard end > start, let address = UnsafeMutableRawPointer(bitPattern: start) else { return }
        _ = madvise(address, end - start, MADV_DONTNEED)
    }

    /// A copy of the floats.
    public func toArray() -> [Float] {
        withExtendedLifetime(self) { Array(buffer) }
    }

    deinit {
        if ownsMemory { UnsafeMutableRawPointer(mutating: pointer).deallocate() }
    }
}
