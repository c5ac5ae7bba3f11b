import Foundation
import Kernels
import XCTest

@testable import Tensor

/// A q4 matrix written by the quantizer loads from the file as stored and computes what
/// quantizing at load computes; a file whose q4 tensors do not fit together is refused with a
/// typed error, never read out of bounds.
final class Q4FileTests: XCTestCase {
    let inFeatures = 96, outFeatures = 7

    private func floats() -> [Float] { (0..<(inFeatures * outFeatures)).map { Float(sin(Double($0) * 0.61)) * 2 } }

    private func write(_ entries: [SafeTensorsWriter.Entry], metadata: [String: String]) throws -> URL {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("q4-\(UUID().uuidString).safetensors")
        try SafeTensorsWriter.write(entries, metadata: metadata, to: file)
        return file
    }

    /// The quantizer's tensors for one [out, in] matrix "m.weight", and the file metadata.
    private func quantizedEntries() throws -> ([SafeTensorsWriter.Entry], [String: String]) {
        let source = try write(
            floats().withUnsafeBufferPointer {
                [SafeTensorsWriter.Entry(name: "m.weight", shape: [outFeatures, inFeatures], floats: $0)]
            },
            metadata: ["format": "pt"])
        defer { try? FileManager.default.removeItem(at: source) }
        let quantizer = CheckpointQuantizer(
            checkpoint: Checkpoint(files: [try SafeTensorsFile(path: source.path)]),
            matrices: [.init(name: "m.weight", layout: .outputMajor, inFeatures: inFeatures, outFeatures: outFeatures)],
            precision: .q4)
        return (try quantizer.entries(), quantizer.metadata)
    }

    private func load(_ entries: [SafeTensorsWriter.Entry], metadata: [String: String]) throws -> Linear {
        let file = try write(entries, metadata: metadata)
        defer { try? FileManager.default.removeItem(at: file) }
        let checkpoint = try Checkpoint(files: [SafeTensorsFile(path: file.path)])
        XCTAssertEqual(QuantizedTensors.storedPrecision(of: checkpoint), .q4)
        return try Linear(
            checkpoint, "m", inFeatures: inFeatures, outFeatures: outFeatures, layout: .outputMajor, hasBias: false)
    }

    func testStoredNamesAndShapes() throws {
        let (entries, metadata) = try quantizedEntries()
        let format = Q4Format.selected
        let groups = 128 / format.groupSize
        var expected = ["m.weight": (DType.u8, [outFeatures, 64]), "m.weight_scale": (.f16, [outFeatures, groups])]
        if format.hasZeroPoint { expected["m.weight_zero_point"] = (.u8, [outFeatures, groups]) }
        XCTAssertEqual(Set(entries.map(\.name)), Set(expected.keys))
        for entry in entries {
            XCTAssertEqual(entry.dtype, expected[entry.name]?.0, entry.name)
            XCTAssertEqual(entry.shape, expected[entry.name]?.1, entry.name)
        }
        XCTAssertEqual(metadata["octavo.precision"], "q4")
        XCTAssertEqual(metadata[QuantizedTensors.layoutKey], QuantizedTensors.outputMajor)
    }

    func testStoredMatrixComputesWhatQuantizingAtLoadComputes() throws {
        let (entries, metadata) = try quantizedEntries()
        let stored = try load(entries, metadata: metadata)
        guard case .q4(let matrix) = stored.weights else { return XCTFail("not loaded as q4") }
        XCTAssertEqual(matrix.format, Q4Format.selected)
        let weight = FloatBuffer(count: inFeatures * outFeatures)
        for (k, v) in floats().enumerated() { weight.mutablePointer[k] = v }
        let atLoad = Linear(
            weight: weight, bias: nil, inFeatures: inFeatures, outFeatures: outFeatures, layout: .outputMajor,
            precision: .q4)
        let x = (0..<(3 * inFeatures)).map { Float(cos(Double($0) * 0.23)) }
        var a = [Float](repeating: 0, count: 3 * outFeatures)
        var b = a
        stored(out: &a, input: x, rows: 3)
        atLoad(out: &b, input: x, rows: 3)
        XCTAssertEqual(a, b)
        XCTAssertNotEqual(a, [Float](repeating: 0, count: a.count))
    }

    private func replacing(_ entries: [SafeTensorsWriter.Entry], _ name: String, with entry: SafeTensorsWriter.Entry?)
        -> [SafeTensorsWriter.Entry]
    {
        entries.compactMap { $0.name == name ? entry : $0 }
    }

    private func assertRefused(
        _ entries: [SafeTensorsWriter.Entry], metadata: [String: String], _ check: (TensorError) -> Bool,
        line: UInt = #line
    ) {
        XCTAssertThrowsError(try load(entries, metadata: metadata), line: line) { error in
            guard let error = error as? TensorError else { return XCTFail("\(error) is not a TensorError", line: line) }
            XCTAssertTrue(check(error), "\(error)", line: line)
            XCTAssertTrue(error.description.contains("m.weight"), error.description, line: line)
        }
    }

    func testScalesOfTheWrongShapeAreRefused() throws {
        let (entries, metadata) = try quantizedEntries()
        for shape in [[outFeatures], [outFeatures, 3], [outFeatures - 1, 4], [outFeatures, 8, 1]] {
            let count = shape.reduce(1, *)
            let bad = replacing(
                entries, "m.weight_scale",
                with: .init(
                    name: "m.weight_scale", dtype: .f16, shape: shape,
                    data: Data(count: 2 * count)))
            assertRefused(bad, metadata: metadata) {
                if case .invalidQuantizedTensor(let tensor, _) = $0 { return tensor == "m.weight_scale" }
                return false
            }
        }
    }

    func testScalesInAnotherDTypeAreRefused() throws {
        let (entries, metadata) = try quantizedEntries()
        let groups = 128 / Q4Format.selected.groupSize
        let bad = replacing(
            entries, "m.weight_scale",
            with: .init(
                name: "m.weight_scale", dtype: .f32, shape: [outFeatures, groups],
                data: Data(count: 4 * outFeatures * groups)))
        assertRefused(bad, metadata: metadata) {
            $0 == .unexpectedDType(tensor: "m.weight_scale", expected: "F16", got: "F32")
        }
    }

    func testMissingScalesAreRefused() throws {
        let (entries, metadata) = try quantizedEntries()
        assertRefused(replacing(entries, "m.weight_scale", with: nil), metadata: metadata) {
            if case .missingTensor(let name, _) = $0 { return name == "m.weight_scale" }
            return false
        }
    }

    func testPackedWeightsOfTheWrongShapeAreRefused() throws {
        let (entries, metadata) = try quantizedEntries()
        let bad = replacing(
            entries, "m.weight",
            with: .init(name: "m.weight", dtype: .u8, shape: [outFeatures, 48], data: Data(count: outFeatures * 48)))
        assertRefused(bad, metadata: metadata) {
            $0 == .unexpectedShape(tensor: "m.weight", expected: [self.outFeatures, 64], got: [self.outFeatures, 48])
        }
    }

    func testZeroPointsOutOfRangeOrShapeAreRefused() throws {
        let (entries, metadata) = try quantizedEntries()
        let groups = 128 / Q4Format.selected.groupSize
        var large = Data(count: outFeatures * groups)
        large[5] = 16
        let outOfRange =
            replacing(entries, "m.weight_zero_point", with: nil)
            + [.init(name: "m.weight_zero_point", dtype: .u8, shape: [outFeatures, groups], data: large)]
        assertRefused(outOfRange, metadata: metadata) {
            if case .invalidQuantizedTensor(let tensor, let reason) = $0 {
                return tensor == "m.weight_zero_point" && reason.contains("16")
            }
            return false
        }
        let misshapen =
            replacing(entries, "m.weight_zero_point", with: nil)
            + [
                .init(
                    name: "m.weight_zero_point", dtype: .u8, shape: [outFeatures * groups],
                    data: Data(count: outFeatures * groups))
            ]
        assertRefused(misshapen, metadata: metadata) {
            $0
                == .unexpectedShape(
                    tensor: "m.weight_zero_point", expected: [self.outFeatures, groups],
                    got: [self.outFeatures * groups])
        }
    }
}
