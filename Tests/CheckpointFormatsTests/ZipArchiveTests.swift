import CheckpointFormats
import XCTest

/// Zip archives built byte by byte: zip64 fields (what nllb-200-3.3B's 4 GB+ shards use) and
/// a compressed entry.
final class ZipArchiveTests: XCTestCase {
    private func le(_ value: UInt64, _ width: Int) -> [UInt8] {
        (0..<width).map { UInt8(truncatingIfNeeded: value >> (8 * UInt64($0))) }
    }

    /// One entry `name` holding `data`, every size and offset in zip64 fields when `zip64`.
    private func archive(name: String, data: [UInt8], method: UInt64 = 0, zip64: Bool) -> [UInt8] {
        let nameBytes = Array(name.utf8)
        let size = UInt64(data.count)
        var out: [UInt8] = le(0x0403_4b50, 4) + le(20, 2) + le(0, 2) + le(method, 2) + le(0, 4) + le(0, 4)
        out += le(size, 4) + le(size, 4) + le(UInt64(nameBytes.count), 2) + le(0, 2) + nameBytes + data
        let directoryOffset = UInt64(out.count)
        let extra: [UInt8] = zip64 ? le(1, 2) + le(24, 2) + le(size, 8) + le(size, 8) + le(0, 8) : []
        let small: (UInt64) -> UInt64 = { zip64 ? 0xFFFF_FFFF : $0 }
        var directory: [UInt8] =
            le(0x0201_4b50, 4) + le(45, 2) + le(45, 2) + le(0, 2) + le(method, 2) + le(0, 4) + le(0, 4)
        directory +=
            le(small(size), 4) + le(small(size), 4) + le(UInt64(nameBytes.count), 2) + le(UInt64(extra.count), 2)
        directory += le(0, 2) + le(0, 2) + le(0, 2) + le(0, 4) + le(small(0), 4) + nameBytes + extra
        out += directory
        if zip64 {
            let record = UInt64(out.count)
            out += le(0x0606_4b50, 4) + le(44, 8) + le(45, 2) + le(45, 2) + le(0, 4) + le(0, 4)
            out += le(1, 8) + le(1, 8) + le(UInt64(directory.count), 8) + le(directoryOffset, 8)
            out += le(0x0706_4b50, 4) + le(0, 4) + le(record, 8) + le(1, 4)
            out +=
                le(0x0605_4b50, 4) + le(0, 4) + le(0xFFFF, 2) + le(0xFFFF, 2) + le(0xFFFF_FFFF, 4) + le(0xFFFF_FFFF, 4)
                + le(0, 2)
        } else {
            out +=
                le(0x0605_4b50, 4) + le(0, 4) + le(1, 2) + le(1, 2) + le(UInt64(directory.count), 4)
                + le(directoryOffset, 4) + le(0, 2)
        }
        return out
    }

    private func read(_ bytes: [UInt8]) throws -> ZipArchive {
        try bytes.withUnsafeBytes { try ZipArchive(bytes: $0, path: "test.zip") }
    }

    func testPlainAndZip64DirectoriesGiveTheSameEntry() throws {
        let data: [UInt8] = Array(0..<100)
        for zip64 in [false, true] {
            let bytes = archive(name: "archive/data/0", data: data, zip64: zip64)
            let archive = try read(bytes)
            let entry = try XCTUnwrap(archive.entry(named: "archive/data/0"))
            let range = try bytes.withUnsafeBytes { try archive.dataRange(of: entry, in: $0) }
            XCTAssertEqual(Array(bytes[range]), data, "zip64: \(zip64)")
        }
    }

    func testCompressedEntryIsRefused() {
        let bytes = archive(name: "archive/data.pkl", data: [1, 2, 3], method: 8, zip64: false)
        func data() throws -> Range<Int> {
            let zip = try read(bytes)
            return try bytes.withUnsafeBytes { try zip.dataRange(of: zip.entries[0], in: $0) }
        }
        assertFormatError(try data()) {
            if case .compressedEntry("test.zip", "archive/data.pkl", 8) = $0 { return true } else { return false }
        }
    }

    func testZip64SizePastTheEndIsRefused() {
        var bytes = archive(name: "archive/data/0", data: [1, 2, 3, 4], zip64: true)
        // The zip64 extra's uncompressed and compressed sizes follow the name in the directory.
        let directory = bytes.count - 22 - 20 - 56 - (46 + 14 + 28)
        let sizes = directory + 46 + 14 + 4
        for offset in 0..<16 where offset % 8 == 7 { bytes[sizes + offset] = 0x7F }
        assertFormatError(try read(bytes)) {
            // The size read is the zip64 one (0x7F00000000000004), not the 32-bit 0xFFFFFFFF.
            if case .entryOutOfBounds(_, "archive/data/0", let reason) = $0 {
                return reason.contains("claims 9151314442816847876 bytes")
            }
            return false
        }
    }

    func testEmptyAndTinyInputs() {
        for bytes in [[], [0x50, 0x4B, 0x03, 0x04], [UInt8](repeating: 0, count: 30)] as [[UInt8]] {
            assertFormatError(try read(bytes)) { _ in true }
        }
    }
}
