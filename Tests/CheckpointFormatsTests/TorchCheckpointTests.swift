import CheckpointFormats
import XCTest

/// The reader against what torch itself says of the same state dict (features.json), in both
/// torch.save formats.
final class TorchCheckpointTests: XCTestCase {
    func testZipFormatMatchesTorch() throws { try check("features-zip.bin", format: .zip) }

    func testLegacyFormatMatchesTorch() throws { try check("features-legacy.bin", format: .legacy) }

    private func check(_ name: String, format: TorchCheckpoint.Format) throws {
        let bytes = try TorchFixtures.bytes(name)
        let checkpoint = try TorchFixtures.read(bytes, path: name)
        XCTAssertEqual(checkpoint.format, format)
        let expected = try TorchFixtures.expected()
        XCTAssertEqual(checkpoint.tensors.map(\.name), expected.map(\.name), "tensors in state dict order")
        for (record, truth) in zip(checkpoint.tensors, expected) {
            XCTAssertEqual(record.dtype.rawValue, truth.dtype, record.name)
            XCTAssertEqual(record.shape, truth.shape, record.name)
            XCTAssertEqual(record.strides, truth.strides, record.name)
            XCTAssertEqual(record.storageOffset, truth.storage_offset, record.name)
            XCTAssertEqual(record.isContiguous, truth.contiguous, record.name)
            XCTAssertEqual(TorchFixtures.values(of: record, in: bytes), truth.values, record.name)
            XCTAssertLessThanOrEqual(record.storageRange.upperBound, bytes.count)
        }
        // matrix, its transpose and its row 1 are views of one storage: it is located once.
        let byName = Dictionary(uniqueKeysWithValues: checkpoint.tensors.map { ($0.name, $0) })
        let matrix = try XCTUnwrap(byName["matrix"])
        let transposed = try XCTUnwrap(byName["matrix_t"])
        let row = try XCTUnwrap(byName["row"])
        XCTAssertEqual(Set([matrix.storageKey, transposed.storageKey, row.storageKey]).count, 1)
        XCTAssertEqual(matrix.storageRange, row.storageRange)
        XCTAssertEqual(matrix.storageRange.count, 12 * 4)
        XCTAssertEqual(
            row.contiguousRange, (matrix.storageRange.lowerBound + 16)..<(matrix.storageRange.lowerBound + 32))
        XCTAssertNil(transposed.contiguousRange)
    }

    func testZipEntriesOfTorchArchive() throws {
        let bytes = try TorchFixtures.bytes("features-zip.bin")
        let archive = try bytes.withUnsafeBytes { try ZipArchive(bytes: $0, path: "features-zip.bin") }
        let names = Set(archive.entries.map(\.name))
        XCTAssertTrue(names.contains("archive/data.pkl") || names.contains { $0.hasSuffix("/data.pkl") }, "\(names)")
        let order = try XCTUnwrap(archive.entries.first { $0.name.hasSuffix("/byteorder") })
        XCTAssertEqual(
            String(
                decoding: bytes[try bytes.withUnsafeBytes { try archive.dataRange(of: order, in: $0) }], as: UTF8.self),
            "little")
    }
}
