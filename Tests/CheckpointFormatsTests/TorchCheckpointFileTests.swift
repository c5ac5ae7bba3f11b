import CheckpointFormats
import Foundation
import Tensor
import XCTest

/// The `.bin` reader as the engine's `Checkpoint` uses it: views borrowed or copied, dtypes
/// mapped, hostile files refused through the same path the models load by.
final class TorchCheckpointFileTests: XCTestCase {
    func testViewsOfEveryLayout() throws {
        for name in ["features-zip.bin", "features-legacy.bin"] {
            let file = try TorchCheckpointFile(path: TorchFixtures.url(name).path)
            let checkpoint = Checkpoint(files: [file])
            let expected = Dictionary(uniqueKeysWithValues: try TorchFixtures.expected().map { ($0.name, $0) })
            for tensor in ["matrix", "matrix_t", "row", "column", "half", "bf16", "f64", "param", "scalar"] {
                let view = try checkpoint.require(tensor)
                let truth = try XCTUnwrap(expected[tensor])
                XCTAssertEqual(view.shape, truth.shape, "\(name) \(tensor)")
                XCTAssertEqual(
                    try view.floats().toArray().map(Double.init), truth.values.map { Double(Float($0)) },
                    "\(name) \(tensor)")
            }
            XCTAssertEqual(checkpoint.info("f64")?.dtype, .f32, "F64 is narrowed to F32 as transformers loads it")
            XCTAssertEqual(checkpoint.info("i32")?.dtype, .i32)
            XCTAssertEqual(checkpoint.info("i8")?.dtype, .i8)
            XCTAssertEqual(file.unsupportedTensors, ["i64": "I64", "i16": "I16", "u8": "U8", "bool": "BOOL"])
            XCTAssertThrowsError(try checkpoint.require("i64")) { error in
                guard case TensorError.unexpectedDType("i64", _, let got) = error else { return XCTFail("\(error)") }
                XCTAssertTrue(got.hasPrefix("I64"), got)
            }
            // The row at storage offset 4 is borrowed 16 bytes into the matrix's storage.
            let matrix = try checkpoint.require("matrix")
            let row = try checkpoint.require("row")
            XCTAssertEqual(row.bytes.baseAddress, matrix.bytes.baseAddress.map { $0 + 16 }, name)
            // F32 views are always aligned for the kernels: the legacy format stores some F32
            // storages at unaligned offsets (checked below), which are copied.
            for tensor in checkpoint.tensorNames where checkpoint.info(tensor)?.dtype == .f32 {
                XCTAssertEqual(
                    Int(bitPattern: try checkpoint.require(tensor).bytes.baseAddress) % 4, 0,
                    "\(name) "
                        + "\(tensor)")
            }
            if name == "features-legacy.bin" {
                let records = try TorchFixtures.read(name).tensors
                XCTAssertTrue(records.contains { $0.dtype == .f32 && $0.storageRange.lowerBound % 4 != 0 })
            }
            // A strided tensor is copied once and the copy reused.
            XCTAssertEqual(
                try checkpoint.require("matrix_t").bytes.baseAddress,
                try checkpoint.require("matrix_t").bytes.baseAddress)
        }
    }

    func testHostileFilesAreRefusedThroughTheCheckpoint() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("hostile-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let target = folder.appendingPathComponent("pytorch_model.bin")
        let expectations: [(String, (CheckpointFormatError) -> Bool)] = [
            ("os-system.bin", { if case .forbiddenGlobal(_, "os.system") = $0 { return true } else { return false } }),
            (
                "builtins-eval.bin",
                { if case .forbiddenGlobal(_, "builtins.eval") = $0 { return true } else { return false } }
            ),
            ("lying-size.bin", { if case .entryOutOfBounds = $0 { return true } else { return false } }),
            ("wrong-magic.bin", { if case .wrongMagicNumber = $0 { return true } else { return false } }),
        ]
        for (name, check) in expectations {
            try? FileManager.default.removeItem(at: target)
            try FileManager.default.copyItem(at: TorchFixtures.url("hostile/" + name), to: target)
            assertFormatError(try Checkpoint(directory: folder), check)
            XCTAssertEqual((try? Checkpoint(directory: folder)).map { _ in "loaded" }, nil, name)
        }
    }
}
