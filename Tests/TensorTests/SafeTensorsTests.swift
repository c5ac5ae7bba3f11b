import Foundation
import XCTest

@testable import Tensor

/// The reader accepts what the format allows and turns every malformed file into
/// a typed error naming the file and tensor, never a crash or an out-of-bounds read.
final class SafeTensorsTests: XCTestCase {
    var folder: URL!

    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("safetensors-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: folder)
    }

    func write(_ bytes: Data, _ name: String = "model.safetensors") throws -> String {
        let url = folder.appendingPathComponent(name)
        try bytes.write(to: url)
        return url.path
    }

    /// A file with a raw header string and `dataBytes` zero bytes after it.
    func rawFile(header: String, dataBytes: Int) -> Data {
        var data = Data()
        var length = UInt64(header.utf8.count).littleEndian
        withUnsafeBytes(of: &length) { data.append(contentsOf: $0) }
        data.append(header.data(using: .utf8)!)
        data.append(Data(count: dataBytes))
        return data
    }

    func expectError(_ data: Data, file: StaticString = #filePath, line: UInt = #line, _ check: (TensorError) -> Bool)
        throws
    {
        let path = try write(data)
        XCTAssertThrowsError(try SafeTensorsFile(path: path), file: file, line: line) { error in
            guard let error = error as? TensorError else {
                return XCTFail("not a TensorError: \(error)", file: file, line: line)
            }
            XCTAssertTrue(check(error), "unexpected error: \(error)", file: file, line: line)
            XCTAssertTrue(
                error.description.contains("model.safetensors"), "message should name the file: \(error)", file: file,
                line: line)
        }
    }

    func testRoundTripThroughTheWriter() throws {
        let a: [Float] = [1, 2, 3, 4, 5, 6]
        let b: [Float] = [-1.5]
        let data = try a.withUnsafeBufferPointer { pa in
            try b.withUnsafeBufferPointer { pb in
                try SafeTensorsWriter.serialize(
                    [
                        .init(name: "a", shape: [2, 3], floats: pa),
                        .init(name: "b", shape: [], floats: pb),
                    ], metadata: ["format": "pt"])
            }
        }
        let file = try SafeTensorsFile(path: write(data))
        XCTAssertEqual(file.metadata, ["format": "pt"])
        XCTAssertEqual(file.tensors["a"]?.shape, [2, 3])
        XCTAssertEqual(try file.view("a")!.floats().toArray(), a)
        XCTAssertEqual(try file.view("b")!.floats().toArray(), b)
        XCTAssertTrue(
            try file.view("a")!.floats().isMapped, "aligned F32 must be borrowed from the mapping, not copied")
    }

    func testHalfPrecisionWidensExactly() throws {
        // 1.0, -2.0, 65504 (max half), 2^-24 (smallest subnormal) in F16; 1.0, -2.0, 3.140625 in BF16.
        let f16: [UInt16] = [0x3C00, 0xC000, 0x7BFF, 0x0001]
        let bf16: [UInt16] = [0x3F80, 0xC000, 0x4049]
        let data = try SafeTensorsWriter.serialize([
            .init(name: "h", dtype: .f16, shape: [4], data: f16.withUnsafeBytes { Data($0) }),
            .init(name: "b", dtype: .bf16, shape: [3], data: bf16.withUnsafeBytes { Data($0) }),
        ])
        let file = try SafeTensorsFile(path: write(data))
        XCTAssertEqual(try file.view("h")!.floats().toArray(), [1, -2, 65504, Float(bitPattern: 0x3380_0000)])
        XCTAssertEqual(try file.view("b")!.floats().toArray(), [1, -2, 3.140625])
    }

    func testMisalignedF32IsCopiedNotMisread() throws {
        // A 1-element F16 tensor first leaves the F32 tensor at data offset 2.
        let half: [UInt16] = [0x3C00]
        let floats: [Float] = [7, 8]
        let data = try SafeTensorsWriter.serialize([
            .init(name: "a_half", dtype: .f16, shape: [1], data: half.withUnsafeBytes { Data($0) }),
            .init(name: "b_float", dtype: .f32, shape: [2], data: floats.withUnsafeBytes { Data($0) }),
        ])
        let buffer = try SafeTensorsFile(path: write(data)).view("b_float")!.floats()
        XCTAssertEqual(buffer.toArray(), floats)
        XCTAssertFalse(buffer.isMapped)
    }

    func testTooSmall() throws {
        try expectError(Data([1, 2, 3])) {
            if case .fileTooSmall = $0 { return true }
            return false
        }
        try expectError(Data()) {
            if case .fileTooSmall = $0 { return true }
            return false
        }
    }

    func testHeaderLengthPastTheEnd() throws {
        var data = rawFile(header: "{}", dataBytes: 0)
        data[1] = 0x10
        try expectError(data) {
            if case .headerLengthOutOfBounds = $0 { return true }
            return false
        }
        data[7] = 0x7F
        try expectError(data) {
            if case .malformedHeader = $0 { return true }
            return false
        }
    }

    func testHeaderNotJSON() throws {
        try expectError(rawFile(header: "{\"a\": ", dataBytes: 0)) {
            if case .malformedHeader = $0 { return true }
            return false
        }
        try expectError(rawFile(header: "[1, 2]", dataBytes: 0)) {
            if case .malformedHeader = $0 { return true }
            return false
        }
        try expectError(rawFile(header: "{\"a\": 3}", dataBytes: 0)) {
            if case .malformedHeader = $0 { return true }
            return false
        }
    }

    func testUnknownDType() throws {
        try expectError(
            rawFile(header: #"{"w": {"dtype": "Q4_K", "shape": [2], "data_offsets": [0, 2]}}"#, dataBytes: 2)
        ) {
            if case .unknownDType(_, "w", "Q4_K") = $0 { return true }
            return false
        }
    }

    func testShapeTimesDTypeMustEqualTheSpan() throws {
        try expectError(
            rawFile(header: #"{"w": {"dtype": "F32", "shape": [2, 2], "data_offsets": [0, 12]}}"#, dataBytes: 16)
        ) {
            if case .byteSpanMismatch(_, "w", 16, 12) = $0 { return true }
            return false
        }
    }

    func testBadShapes() throws {
        for shape in ["[-1]", "[1.5]", "[true]", "[\"3\"]", "[9223372036854775807, 9223372036854775807]"] {
            try expectError(
                rawFile(header: #"{"w": {"dtype": "F32", "shape": \#(shape), "data_offsets": [0, 4]}}"#, dataBytes: 4)
            ) {
                if case .invalidShape = $0 { return true }
                return false
            }
        }
    }

    func testBadOffsets() throws {
        try expectError(
            rawFile(header: #"{"w": {"dtype": "F32", "shape": [1], "data_offsets": [4, 0]}}"#, dataBytes: 4)
        ) {
            if case .misplacedSpan(_, "w", 4, 0, 0) = $0 { return true }
            return false
        }
        for offsets in ["[0]", "[-4, 0]", "\"0-4\"", "[0, 4, 4]", "[0.0, 4]"] {
            try expectError(
                rawFile(header: #"{"w": {"dtype": "F32", "shape": [1], "data_offsets": \#(offsets)}}"#, dataBytes: 4)
            ) {
                if case .malformedHeader = $0 { return true }
                return false
            }
        }
    }

    func testTruncatedDataArea() throws {
        let floats = [Float](repeating: 1, count: 100)
        var data = try floats.withUnsafeBufferPointer {
            try SafeTensorsWriter.serialize([.init(name: "w", shape: [100], floats: $0)])
        }
        data.removeLast(10)
        try expectError(data) {
            if case .incompleteData(_, 400, 390) = $0 { return true }
            return false
        }
    }

    func testOverlappingSpans() throws {
        let header =
            #"{"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}, "b": {"dtype": "F32", "shape": [2], "data_offsets": [4, 12]}}"#
        try expectError(rawFile(header: header, dataBytes: 12)) {
            if case .misplacedSpan(_, "b", 4, 12, 8) = $0 { return true }
            return false
        }
    }

    func testMissingFileAndDirectory() throws {
        XCTAssertThrowsError(try SafeTensorsFile(path: folder.appendingPathComponent("nope.safetensors").path)) {
            guard case .fileNotFound = $0 as? TensorError else { return XCTFail("\($0)") }
        }
        XCTAssertThrowsError(try SafeTensorsFile(path: folder.path)) {
            guard case .cannotOpen = $0 as? TensorError else { return XCTFail("\($0)") }
        }
        XCTAssertThrowsError(try Checkpoint(directory: folder)) { XCTAssertTrue("\($0)".contains("model.safetensors")) }
    }

    func testShardedCheckpoint() throws {
        let one: [Float] = [1, 2]
        let two: [Float] = [3]
        try one.withUnsafeBufferPointer {
            try SafeTensorsWriter.write(
                [.init(name: "a", shape: [2], floats: $0)], to: folder.appendingPathComponent("s1.safetensors"))
        }
        try two.withUnsafeBufferPointer {
            try SafeTensorsWriter.write(
                [.init(name: "b", shape: [1], floats: $0)], to: folder.appendingPathComponent("s2.safetensors"))
        }
        let index = #"{"metadata": {}, "weight_map": {"a": "s1.safetensors", "b": "s2.safetensors"}}"#
        try index.write(
            to: folder.appendingPathComponent("model.safetensors.index.json"), atomically: true, encoding: .utf8)
        let checkpoint = try Checkpoint(directory: folder)
        XCTAssertEqual(checkpoint.tensorNames, ["a", "b"])
        XCTAssertEqual(try checkpoint.require("b").floats().toArray(), two)
        XCTAssertThrowsError(try checkpoint.require("c")) { XCTAssertTrue("\($0)".contains("'c'")) }
    }

    func testShardIndexErrors() throws {
        let indexURL = folder.appendingPathComponent("model.safetensors.index.json")
        try #"{"weight_map": {"a": "missing.safetensors"}}"#.write(to: indexURL, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try Checkpoint(directory: folder)) {
            guard case .missingShard = $0 as? TensorError else { return XCTFail("\($0)") }
        }
        try #"{"weight_map": {"a": "../../etc/passwd"}}"#.write(to: indexURL, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try Checkpoint(directory: folder)) {
            guard case .malformedIndex = $0 as? TensorError else { return XCTFail("\($0)") }
        }
        try "not json".write(to: indexURL, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try Checkpoint(directory: folder)) {
            guard case .malformedIndex = $0 as? TensorError else { return XCTFail("\($0)") }
        }
        let one: [Float] = [1]
        try one.withUnsafeBufferPointer {
            try SafeTensorsWriter.write(
                [.init(name: "a", shape: [1], floats: $0)], to: folder.appendingPathComponent("s1.safetensors"))
        }
        try #"{"weight_map": {"zzz": "s1.safetensors"}}"#.write(to: indexURL, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try Checkpoint(directory: folder)) {
            guard case .malformedIndex = $0 as? TensorError else { return XCTFail("\($0)") }
        }
    }

    func testShapeCheckAgainstTheConfig() throws {
        let floats: [Float] = [1, 2, 3, 4]
        let path = try floats.withUnsafeBufferPointer {
            try write(SafeTensorsWriter.serialize([.init(name: "w", shape: [2, 2], floats: $0)]))
        }
        XCTAssertThrowsError(try SafeTensorsFile(path: path).view("w")!.floats(expectedShape: [4, 1])) {
            XCTAssertEqual($0 as? TensorError, .unexpectedShape(tensor: "w", expected: [4, 1], got: [2, 2]))
        }
    }

    /// Random corruption of a valid file: always a value or a TensorError, never a crash.
    func testRandomCorruptionNeverCrashes() throws {
        let floats = (0..<64).map(Float.init)
        let valid = try floats.withUnsafeBufferPointer {
            try SafeTensorsWriter.serialize([
                .init(name: "a", shape: [8, 8], floats: $0), .init(name: "b", shape: [64], floats: $0),
            ])
        }
        var state: UInt64 = 12345
        func next() -> Int {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int(state >> 33)
        }
        for _ in 0..<300 {
            var bytes = valid
            for _ in 0..<(1 + next() % 4) { bytes[next() % bytes.count] = UInt8(next() % 256) }
            if next() % 4 == 0 { bytes = bytes.prefix(next() % bytes.count) }
            let path = try write(bytes)
            do {
                let file = try SafeTensorsFile(path: path)
                for name in file.tensors.keys { _ = try? file.view(name)?.floats() }
            } catch is TensorError {
            } catch {
                XCTFail("untyped error \(error)")
            }
        }
    }
}
