import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Memory for weights converted at load (int8, q4, f16 matrices), carved one after another
/// from large anonymous mappings aligned to 2 MiB and marked `MADV_HUGEPAGE`, so that where
/// transparent huge pages are enabled (`always` or `madvise`) the kernel backs them with
/// 2 MiB pages. A decode step streams every weight once; on 4 KiB pages that is a TLB miss
/// every 4 KiB, on huge pages one every 2 MiB. Matrices are mostly smaller than 2 MiB, so
/// each on its own mapping would stay on small pages: hence one arena for all of them.
///
/// A region is unmapped when the arena has moved past it and the last block carved from it
/// is released. Thread-safe.
public final class LargePageArena: @unchecked Sendable {
    /// The arena the matrix types allocate from.
    public static let shared = LargePageArena()

    /// The alignment of every region, and the page size the kernel may back them with.
    public static let hugePageBytes = 2 << 20

    private let regionBytes: Int
    private let lock = NSLock()
    private var current: LargePageRegion?
    private var used = 0

    /// - regionBytes: the size of each mapping (larger requests get a mapping of their own size).
    public init(regionBytes: Int = 64 << 20) {
        self.regionBytes = max(Self.hugePageBytes, regionBytes)
    }

    /// `byteCount` bytes aligned to `alignment` (a power of two, at most 4096), alive as long
    /// as the returned block is.
    public func allocate(byteCount: Int, alignment: Int = 64) -> LargePageBlock {
        precondition(alignment > 0 && alignment & (alignment - 1) == 0 && alignment <= 4096)
        let bytes = max(1, byteCount)
        lock.lock()
        defer { lock.unlock() }
        var start = (used + alignment - 1) & ~(alignment - 1)
        if current == nil || start + bytes > current!.byteCount {
            current = LargePageRegion(byteCount: max(regionBytes, bytes))
            start = 0
        }
        used = start + bytes
        return LargePageBlock(region: current!, offset: start, byteCount: bytes)
    }
}

/// Bytes carved from a `LargePageArena`; keeps their region mapped.
public final class LargePageBlock: @unchecked Sendable {
    public let pointer: UnsafeMutableRawPointer
    public let byteCount: Int
    private let region: LargePageRegion

    fileprivate init(region: LargePageRegion, offset: Int, byteCount: Int) {
        self.region = region
        self.pointer = region.base + offset
        self.byteCount = byteCount
    }

    /// The block's bytes as `count` values of `type` from `byteOffset`.
    public func bind<T>(to type: T.Type, byteOffset: Int = 0, count: Int) -> UnsafeMutablePointer<T> {
        precondition(byteOffset >= 0 && byteOffset + count * MemoryLayout<T>.stride <= byteCount)
        return (pointer + byteOffset).bindMemory(to: type, capacity: count)
    }
}

/// One anonymous mapping starting on a 2 MiB boundary: mapped 2 MiB larger than asked, then
/// the unaligned head and the spare tail handed back, so nothing outside it is reserved.
final class LargePageRegion: @unchecked Sendable {
    let base: UnsafeMutableRawPointer
    let byteCount: Int

    /// Regions mapped and not yet unmapped, for tests.
    nonisolated(unsafe) static var liveCount = 0
    private static let liveLock = NSLock()

    init(byteCount: Int) {
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let huge = LargePageArena.hugePageBytes
        let length = (byteCount + page - 1) / page * page
        guard
            let raw = mmap(nil, length + huge, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0),
            raw != MAP_FAILED
        else {
            // As malloc does when memory runs out: there is no way on from here.
            fatalError("cannot map \(length + huge) bytes: \(String(cString: strerror(errno)))")
        }
        let address = Int(bitPattern: raw)
        let aligned = (address + huge - 1) / huge * huge
        if aligned > address { munmap(raw, aligned - address) }
        let tail = address + length + huge - (aligned + length)
        if tail > 0 { munmap(UnsafeMutableRawPointer(bitPattern: aligned + length), tail) }
        base = UnsafeMutableRawPointer(bitPattern: aligned)!
        self.byteCount = length
        // Advice, not a requirement: with THP off (or unsupported) the pages stay 4 KiB.
        _ = madvise(base, length, MADV_HUGEPAGE)
        Self.liveLock.lock()
        Self.liveCount += 1
        Self.liveLock.unlock()
    }

    deinit {
        munmap(base, byteCount)
        Self.liveLock.lock()
        Self.liveCount -= 1
        Self.liveLock.unlock()
    }
}
