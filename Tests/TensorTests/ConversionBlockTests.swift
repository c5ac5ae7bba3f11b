import Foundation
import XCTest

@testable import Kernels
@testable import Tensor

/// Converting a mapped matrix block by block, giving each block's file pages back.
final class ConversionBlockTests: XCTestCase {
    func testBlocksCoverEveryRowOnceInOrder() {
        var converted: [Range<Int>] = []
        var done: [Range<Int>] = []
        forEachConversionBlock(
            rows: 1000, columns: 100, layout: .outputMajor, rowsDone: { done.append($0) }, blockBytes: 30 * 400
        ) {
            converted.append($0)
        }
        XCTAssertEqual(converted, done, "each block is reported after it is converted")
        XCTAssertEqual(converted.first?.lowerBound, 0)
        XCTAssertEqual(converted.last?.upperBound, 1000)
        for (a, b) in zip(converted, converted.dropFirst()) { XCTAssertEqual(a.upperBound, b.lowerBound) }
        XCTAssertEqual(converted.count, 34, "30 rows per block")

        // Input-major rows are strided over the whole matrix, and nobody listening means no
        // reason to split: one call either way.
        converted = []
        forEachConversionBlock(rows: 1000, columns: 100, layout: .inputMajor, rowsDone: { _ in }, blockBytes: 400) {
            converted.append($0)
        }
        XCTAssertEqual(converted, [0..<1000])
        converted = []
        forEachConversionBlock(rows: 1000, columns: 100, layout: .outputMajor, rowsDone: nil, blockBytes: 400) {
            converted.append($0)
        }
        XCTAssertEqual(converted, [0..<1000])
    }

    /// A mapped matrix quantized with its pages given back as it goes gives the same int8
    /// matrix, and the floats still read correctly afterwards (the pages come back from
    /// the file).
    func testReleasedPagesReadBackFromTheFile() throws {
        let rows = 3000
        let columns = 700
        let floats = (0..<(rows * columns)).map { Float(sin(Double($0) * 0.001)) }
        let url = FileManager.default.temporaryDirectory.appendingPathComponent(
            "blocks-\(UUID().uuidString).safetensors")
        defer { try? FileManager.default.removeItem(at: url) }
        try floats.withUnsafeBufferPointer {
            try SafeTensorsWriter.write([.init(name: "w", shape: [rows, columns], floats: $0)], to: url)
        }
        let file = try SafeTensorsFile(path: url.path)
        let weight = try XCTUnwrap(file.view("w")).floats(expectedShape: [rows, columns])
        XCTAssertTrue(weight.isMapped)
        let reference = Int8Matrix(quantizing: floats, inFeatures: columns, outFeatures: rows, layout: .outputMajor)
        var reported = 0
        let blocked = Int8Matrix(
            quantizing: weight.pointer, inFeatures: columns, outFeatures: rows, layout: .outputMajor,
            rowsDone: { range in
                reported += range.count
                weight.releaseMappedPages(elements: (range.lowerBound * columns)..<(range.upperBound * columns))
            })
        XCTAssertEqual(reported, rows)
        XCTAssertTrue(memcmp(blocked.values, reference.values, rows * columns) == 0)
        XCTAssertEqual(
            Array(UnsafeBufferPointer(start: blocked.scales, count: rows)),
            Array(UnsafeBufferPointer(start: reference.scales, count: rows)))
        XCTAssertEqual(weight.toArray(), floats)
    }
}
