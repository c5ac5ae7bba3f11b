import Foundation
import Kernels
import XCTest

@testable import Tensor

/// A file written by `quantize` stores each int8 row's sum (the VNNI kernel's correction), and
/// the loader borrows it from the mapping instead of reading every weight at load; a file
/// written before the sums were stored still loads, with the sums computed.
final class StoredRowSumTests: XCTestCase {
    /// 44 · 23 int8 bytes keep the tensors after the matrix 4-byte aligned; 45 · 23 do not.
    var inFeatures = 44
    let outFeatures = 23

    private func quantizedEntries() throws -> [SafeTensorsWriter.Entry] {
        let w = (0..<(inFeatures * outFeatures)).map { Float(sin(Double($0) * 0.83)) * 3 }
        let source = try write(
            w.withUnsafeBufferPointer {
                [SafeTensorsWriter.Entry(name: "m.weight", shape: [outFeatures, inFeatures], floats: $0)]
            })
        defer { try? FileManager.default.removeItem(at: source) }
        let quantizer = CheckpointQuantizer(
            checkpoint: Checkpoint(files: [try SafeTensorsFile(path: source.path)]),
            matrices: [.init(name: "m.weight", layout: .outputMajor, inFeatures: inFeatures, outFeatures: outFeatures)],
            precision: .int8)
        return try quantizer.entries()
    }

    private func write(_ entries: [SafeTensorsWriter.Entry]) throws -> URL {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent(
            "row-sums-\(UUID().uuidString).safetensors")
        try SafeTensorsWriter.write(entries, metadata: ["format": "pt"], to: file)
        return file
    }

    private func load(_ entries: [SafeTensorsWriter.Entry]) throws -> (Int8Matrix, TensorView?) {
        let file = try write(entries)
        defer { try? FileManager.default.removeItem(at: file) }
        let checkpoint = try Checkpoint(files: [SafeTensorsFile(path: file.path)])
        let linear = try Linear(
            checkpoint, "m", inFeatures: inFeatures, outFeatures: outFeatures, layout: .outputMajor, hasBias: false)
        guard case .int8(let matrix) = linear.weights else { throw XCTSkip("not loaded as int8") }
        return (matrix, checkpoint.view("m.weight" + QuantizedTensors.rowSumSuffix))
    }

    private func exactSums(_ m: Int8Matrix) -> [Int32] {
        (0..<m.rows).map { r in (0..<m.columns).reduce(Int32(0)) { $0 + Int32(m.values[r * m.columns + $1]) } }
    }

    func testQuantizeStoresTheSumsAndTheLoaderBorrowsThem() throws {
        let entries = try quantizedEntries()
        XCTAssertEqual(entries.map(\.name), ["m.weight", "m.weight_scale", "m.weight_row_sum"])
        let (matrix, stored) = try load(entries)
        let view = try XCTUnwrap(stored)
        XCTAssertEqual(view.dtype, .i32)
        XCTAssertEqual(
            UnsafeRawPointer(matrix.rowSums), view.bytes.baseAddress,
            "the sums are read from the file, "
                + "not recomputed")
        XCTAssertEqual(Array(UnsafeBufferPointer(start: matrix.rowSums, count: outFeatures)), exactSums(matrix))
    }

    func testAFileWithoutSumsStillLoadsWithThemComputed() throws {
        let (matrix, stored) = try load(
            try quantizedEntries().filter { !$0.name.hasSuffix(QuantizedTensors.rowSumSuffix) })
        XCTAssertNil(stored)
        XCTAssertEqual(Array(UnsafeBufferPointer(start: matrix.rowSums, count: outFeatures)), exactSums(matrix))
    }

    /// A matrix of odd size leaves the sums after it unaligned in the file (safetensors has no
    /// padding between tensors): they are copied, not misread.
    func testUnalignedSumsAreCopied() throws {
        inFeatures = 45
        let file = try write(try quantizedEntries())
        defer { try? FileManager.default.removeItem(at: file) }
        let checkpoint = try Checkpoint(files: [try SafeTensorsFile(path: file.path)])
        let view = try XCTUnwrap(checkpoint.view("m.weight_row_sum"))
        XCTAssertNotEqual(Int(bitPattern: view.bytes.baseAddress!) % 4, 0, "the sums must start unaligned")
        let linear = try Linear(
            checkpoint, "m", inFeatures: inFeatures, outFeatures: outFeatures, layout: .outputMajor, hasBias: false)
        guard case .int8(let matrix) = linear.weights else { return XCTFail("not loaded as int8") }
        XCTAssertEqual(Int(bitPattern: matrix.rowSums) % 4, 0)
        XCTAssertEqual(Array(UnsafeBufferPointer(start: matrix.rowSums, count: outFeatures)), exactSums(matrix))
    }

    func testSumsOfTheWrongTypeOrLengthAreRefused() throws {
        let entries = try quantizedEntries().filter { !$0.name.hasSuffix(QuantizedTensors.rowSumSuffix) }
        let asFloats = [Float](repeating: 0, count: outFeatures).withUnsafeBufferPointer {
            SafeTensorsWriter.Entry(name: "m.weight_row_sum", shape: [outFeatures], floats: $0)
        }
        let short = SafeTensorsWriter.Entry(
            name: "m.weight_row_sum", dtype: .i32, shape: [outFeatures - 1], data: Data(count: 4 * (outFeatures - 1)))
        for (bad, expected) in [(asFloats, "F32"), (short, "\(outFeatures - 1)")] {
            XCTAssertThrowsError(try load(entries + [bad])) { error in
                XCTAssertTrue("\(error)".contains("m.weight_row_sum") && "\(error)".contains(expected), "\(error)")
            }
        }
    }
}
