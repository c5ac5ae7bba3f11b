import Foundation
import Tensor
import XCTest

@testable import Kernels

/// Weights on 2 MiB pages: the arena carves aligned, disjoint blocks from 2 MiB-aligned regions,
/// unmaps a region once nothing uses it and asks for huge pages; mapped checkpoints ask for them
/// too, and floats about to be converted block by block ask not to be on them.
final class HugePageTests: XCTestCase {
    func testBlocksAreAlignedDisjointAndCarvedInOrder() {
        let arena = LargePageArena(regionBytes: 4 << 20)
        let first = arena.allocate(byteCount: 100)
        XCTAssertEqual(Int(bitPattern: first.pointer) % LargePageArena.hugePageBytes, 0, "a region starts on 2 MiB")
        let second = arena.allocate(byteCount: 1000, alignment: 4096)
        XCTAssertEqual(Int(bitPattern: second.pointer) % 4096, 0)
        XCTAssertEqual(second.pointer - first.pointer, 4096, "the next aligned offset of the same region")
        let third = arena.allocate(byteCount: 7)
        XCTAssertEqual(third.pointer - second.pointer, 1024, "1000 bytes rounded up to 64")
        memset(first.pointer, 1, 100)
        memset(second.pointer, 2, 1000)
        memset(third.pointer, 3, 7)
        XCTAssertEqual(first.pointer.load(fromByteOffset: 99, as: UInt8.self), 1)
        XCTAssertEqual(second.pointer.load(fromByteOffset: 999, as: UInt8.self), 2)
    }

    func testLargeRequestsGetTheirOwnRegionAndRegionsAreUnmappedWhenUnused() {
        let before = LargePageRegion.liveCount
        var arena: LargePageArena? = LargePageArena(regionBytes: 2 << 20)
        var small: LargePageBlock? = arena!.allocate(byteCount: 1 << 20)
        XCTAssertEqual(LargePageRegion.liveCount, before + 1)
        var large: LargePageBlock? = arena!.allocate(byteCount: 5 << 20)
        XCTAssertEqual(LargePageRegion.liveCount, before + 2, "5 MiB does not fit the 2 MiB region's rest")
        memset(large!.pointer, 0xAB, 5 << 20)
        XCTAssertEqual(large!.pointer.load(fromByteOffset: (5 << 20) - 1, as: UInt8.self), 0xAB)
        small = nil
        XCTAssertEqual(LargePageRegion.liveCount, before + 1, "the arena moved past the first region")
        large = nil
        XCTAssertEqual(LargePageRegion.liveCount, before + 1, "the arena still carves from the second")
        arena = nil
        XCTAssertEqual(LargePageRegion.liveCount, before)
        _ = (small, large)
    }

    func testBlocksOutliveTheArena() {
        var arena: LargePageArena? = LargePageArena(regionBytes: 2 << 20)
        let block = arena!.allocate(byteCount: 64)
        arena = nil
        block.pointer.storeBytes(of: 7, as: Int.self)
        XCTAssertEqual(block.pointer.load(as: Int.self), 7)
    }

    /// Where transparent huge pages are on (`always` or `madvise`), a touched region is backed
    /// by 2 MiB pages: the weights' TLB misses this arena is for.
    func testRegionsAreBackedByHugePagesWhereTheKernelOffersThem() throws {
        let setting =
            (try? String(contentsOfFile: "/sys/kernel/mm/transparent_hugepage/enabled", encoding: .utf8)) ?? ""
        guard setting.contains("[always]") || setting.contains("[madvise]") else {
            throw XCTSkip("transparent huge pages are off here: \(setting)")
        }
        let arena = LargePageArena(regionBytes: 8 << 20)
        let block = arena.allocate(byteCount: 8 << 20)
        memset(block.pointer, 1, 8 << 20)
        let hugeKiB = try smapsLine(of: block.pointer, startingWith: "AnonHugePages:").flatMap {
            Int($0.split(separator: " ")[1])
        }
        let kib = try XCTUnwrap(hugeKiB, "the region's mapping in /proc/self/smaps")
        XCTAssertGreaterThanOrEqual(kib, 2048, "at least one 2 MiB page of the touched 8 MiB")
    }

    /// A buffer about to be converted block by block is kept off 2 MiB pages, so that the
    /// blocks it gives back leave the resident set.
    func testBuffersConvertedInBlocksAreAdvisedOffHugePages() throws {
        let bytes = 4 << 20
        let raw = try XCTUnwrap(mmap(nil, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0))
        defer { munmap(raw, bytes) }
        let floats = raw.bindMemory(to: Float.self, capacity: bytes / 4)
        let buffer = FloatBuffer(borrowing: floats, count: bytes / 4, owner: NSObject())
        XCTAssertFalse(try smapsLine(of: raw, startingWith: "VmFlags:")?.split(separator: " ").contains("nh") ?? true)
        buffer.adviseReadOnceInBlocks()
        let flags = try XCTUnwrap(smapsLine(of: raw, startingWith: "VmFlags:"))
        XCTAssertTrue(flags.split(separator: " ").contains("nh"), flags)
    }

    /// A mapped checkpoint is advised onto 2 MiB pages, which the kernel uses where the file
    /// sits in large folios.
    func testMappedFilesAreAdvisedOntoHugePages() throws {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("mapped-\(UUID().uuidString).bin")
        try Data(count: 4 << 20).write(to: url)
        defer { try? FileManager.default.removeItem(at: url) }
        let file = try MappedFile(path: url.path)
        let base = try XCTUnwrap(file.bytes.baseAddress)
        let flags = try XCTUnwrap(smapsLine(of: UnsafeMutableRawPointer(mutating: base), startingWith: "VmFlags:"))
        XCTAssertTrue(flags.split(separator: " ").contains("hg"), flags)
    }

    /// The line of /proc/self/smaps starting with `prefix` in the mapping that holds `pointer`.
    private func smapsLine(of pointer: UnsafeMutableRawPointer, startingWith prefix: String) throws -> String? {
        // Read to the end: /proc files report a size of 0.
        let handle = try XCTUnwrap(FileHandle(forReadingAtPath: "/proc/self/smaps"))
        defer { try? handle.close() }
        let smaps = String(decoding: try handle.readToEnd() ?? Data(), as: UTF8.self)
        let address = UInt(bitPattern: Int(bitPattern: pointer))
        var inMapping = false
        for line in smaps.split(separator: "\n") {
            if let dash = line.firstIndex(of: "-"), line.first?.isHexDigit == true,
                let start = UInt(line[..<dash], radix: 16),
                let end = UInt(line[line.index(after: dash)...].prefix { $0.isHexDigit }, radix: 16)
            {
                inMapping = start <= address && address < end
            } else if inMapping, line.hasPrefix(prefix) {
                return String(line)
            }
        }
        return nil
    }
}
