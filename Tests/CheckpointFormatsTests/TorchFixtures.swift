import CheckpointFormats
import Foundation
import XCTest

/// The committed `.bin` fixtures (made by scripts/fixtures/make_torch_fixtures.py with torch itself).
enum TorchFixtures {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/Torch")

    static func url(_ name: String) -> URL { root.appendingPathComponent(name) }

    static func bytes(_ name: String) throws -> [UInt8] { [UInt8](try Data(contentsOf: url(name))) }

    /// Reads a checkpoint from bytes held in memory (the fuzz tests mutate them).
    static func read(_ bytes: [UInt8], path: String = "test.bin") throws -> TorchCheckpoint {
        try bytes.withUnsafeBytes { try TorchCheckpoint(bytes: $0, path: path) }
    }

    static func read(_ name: String) throws -> TorchCheckpoint { try read(try bytes(name), path: name) }

    /// One tensor of features.json: what torch itself says of it.
    struct Expected: Decodable {
        let name: String
        let dtype: String
        let shape: [Int]
        let strides: [Int]
        let storage_offset: Int
        let contiguous: Bool
        let values: [Double]
    }

    static func expected() throws -> [Expected] {
        try JSONDecoder().decode([Expected].self, from: Data(contentsOf: url("features.json")))
    }

    /// The tensor's elements in row-major order, as doubles.
    static func values(of record: TorchTensorRecord, in file: [UInt8]) -> [Double] {
        var out = [UInt8](repeating: 0, count: record.elementCount * record.dtype.size)
        file.withUnsafeBytes { source in out.withUnsafeMutableBytes { record.copyContiguous(from: source, into: $0) } }
        return out.withUnsafeBytes { raw in
            (0..<record.elementCount).map { index -> Double in
                let offset = index * record.dtype.size
                switch record.dtype {
                case .f32: return Double(raw.loadUnaligned(fromByteOffset: offset, as: Float.self))
                case .f64: return raw.loadUnaligned(fromByteOffset: offset, as: Double.self)
                case .f16: return Double(Float(raw.loadUnaligned(fromByteOffset: offset, as: Float16.self)))
                case .bf16:
                    let bits = UInt32(raw.loadUnaligned(fromByteOffset: offset, as: UInt16.self)) << 16
                    return Double(Float(bitPattern: bits))
                case .i64: return Double(raw.loadUnaligned(fromByteOffset: offset, as: Int64.self))
                case .i32: return Double(raw.loadUnaligned(fromByteOffset: offset, as: Int32.self))
                case .i16: return Double(raw.loadUnaligned(fromByteOffset: offset, as: Int16.self))
                case .i8: return Double(raw.loadUnaligned(fromByteOffset: offset, as: Int8.self))
                case .u8, .bool: return Double(raw[offset])
                }
            }
        }
    }
}

/// Asserts that `body` throws a `CheckpointFormatError` matching `check`.
func assertFormatError<T>(
    _ body: @autoclosure () throws -> T, file: StaticString = #filePath, line: UInt = #line,
    _ check: (CheckpointFormatError) -> Bool
) {
    do {
        _ = try body()
        XCTFail("no error thrown", file: file, line: line)
    } catch let error as CheckpointFormatError {
        XCTAssertTrue(check(error), "unexpected error: \(error)", file: file, line: line)
    } catch {
        XCTFail("untyped error \(error)", file: file, line: line)
    }
}
