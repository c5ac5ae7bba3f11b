import Foundation
import XCTest

@testable import Kernels
@testable import Tensor

/// 4-bit matrices: packing, and the product on every kernel against a naive reference that
/// computes each group's integer sum exactly and combines the sums in the order the kernels
/// document (so the comparison is exact, not to a tolerance).
final class Q4MatrixTests: XCTestCase {
    static let formats = [
        Q4Format(groupSize: 32, hasZeroPoint: false), Q4Format(groupSize: 32, hasZeroPoint: true),
        Q4Format(groupSize: 64, hasZeroPoint: false), Q4Format(groupSize: 64, hasZeroPoint: true),
    ]

    var state: UInt64 = 11
    func random(_ n: Int, scale: Float = 1) -> [Float] {
        (0..<n).map { _ in
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return (Float(state >> 40) / Float(1 << 24) * 2 - 1) * scale
        }
    }

    func testPackedNibblesReadBackInPlace() {
        let columns = 192
        let rows = 3
        let values: [UInt8] = (0..<(rows * columns)).map { (i: Int) -> UInt8 in UInt8((i * 7 + i / 5) % 16) }
        var packed = [UInt8](repeating: 0, count: rows * columns / 2)
        for r in 0..<rows {
            Q4Matrix.pack(
                values.withUnsafeBufferPointer { $0.baseAddress! + r * columns }, columns: columns,
                into: &packed[r * columns / 2])
        }
        // Byte j of a chunk: column j low, column 32 + j high.
        XCTAssertEqual(packed[5], values[5] | values[37] << 4)
        XCTAssertEqual(packed[32 + 1], values[64 + 1] | values[64 + 33] << 4)
        let scales = [UInt16](repeating: Float16(1).bitPattern, count: rows * columns / 32)
        packed.withUnsafeBufferPointer { p in
            scales.withUnsafeBufferPointer { s in
                let matrix = Q4Matrix(
                    packed: p.baseAddress!, scales: s.baseAddress!, zeroPoints: nil, rows: rows, columns: columns,
                    groupSize: 32, owner: NSObject())
                for r in 0..<rows {
                    for k in 0..<columns {
                        XCTAssertEqual(matrix.storedValue(row: r, column: k), values[r * columns + k])
                        XCTAssertEqual(matrix.integerValue(row: r, column: k), Int(values[r * columns + k]) - 8)
                    }
                }
            }
        }
    }

    /// Weights that are already s·(q − z) with a half-float s come back exactly, in either layout.
    func testRepresentableWeightsRoundTrip() {
        let inFeatures = 96
        let outFeatures = 5
        for format in Self.formats {
            var w = [Float](repeating: 0, count: inFeatures * outFeatures)
            for r in 0..<outFeatures {
                for g in 0..<(inFeatures / format.groupSize) {
                    let scale = Float(1 << (r % 3)) / 64
                    let zero = format.hasZeroPoint ? (r + g) % 16 : 8
                    for k in 0..<format.groupSize {
                        // 0 and 15 in every group: the quantizer's range is exactly [s·(0 − z), s·(15 − z)].
                        let q = k == 0 ? 0 : k == 1 ? 15 : (k * 5 + r) % 16
                        w[r * inFeatures + g * format.groupSize + k] = scale * Float(q - zero)
                    }
                }
            }
            var transposed = w
            for r in 0..<outFeatures {
                for k in 0..<inFeatures { transposed[k * outFeatures + r] = w[r * inFeatures + k] }
            }
            for (layout, source) in [(WeightLayout.outputMajor, w), (.inputMajor, transposed)] {
                let matrix = Q4Matrix(
                    quantizing: source, inFeatures: inFeatures, outFeatures: outFeatures, layout: layout, format: format
                )
                XCTAssertEqual(matrix.format, format)
                for r in 0..<outFeatures {
                    for k in 0..<inFeatures {
                        XCTAssertEqual(
                            matrix.dequantized(row: r, column: k), w[r * inFeatures + k],
                            "\(format) "
                                + "\(layout) [\(r), \(k)]")
                    }
                }
            }
        }
    }

    /// Any weights come back within half a step of their group's scale; symmetric groups within
    /// a whole step, as −8...7 leaves the side opposite the extreme one step short.
    func testQuantizedWeightsStayWithinHalfAStep() {
        let inFeatures = 160
        let outFeatures = 9
        let w = random(inFeatures * outFeatures, scale: 3)
        for format in Self.formats {
            let matrix = Q4Matrix(
                quantizing: w, inFeatures: inFeatures, outFeatures: outFeatures, layout: .outputMajor, format: format)
            XCTAssertEqual(matrix.paddedColumns, 192)
            for r in 0..<outFeatures {
                for k in 0..<matrix.paddedColumns {
                    let scale = abs(matrix.scale(row: r, group: k / format.groupSize))
                    let original: Float = k < inFeatures ? w[r * inFeatures + k] : 0
                    let bound = format.hasZeroPoint ? scale / 2 : scale
                    XCTAssertLessThanOrEqual(
                        abs(matrix.dequantized(row: r, column: k) - original), bound * 1.001 + 1e-6,
                        "\(format) [\(r), \(k)]")
                }
            }
        }
    }

    /// x·Wᵀ through `matmulQ4` on `kernel`, and the quantized activations (the caller frees their memory).
    func q4Product(
        _ x: [Float], rows: Int, matrix: Q4Matrix, kernel: Int8Kernel, rowRange: Range<Int>? = nil,
        into y: inout [Float], accumulate: Bool = false
    ) -> Q4Activations {
        let bytes = Q4Activations.byteCount(rows: rows, columns: matrix.columns, groupSize: matrix.groupSize)
        let memory = UnsafeMutableRawPointer.allocate(byteCount: max(1, bytes), alignment: 64)
        let quantized = Q4Activations(
            quantizing: x, rows: rows, columns: matrix.columns, groupSize: matrix.groupSize, memory: memory)
        matmulQ4(
            y: &y, yStride: matrix.rows, x: quantized, weight: matrix, rowRange: rowRange ?? 0..<matrix.rows,
            accumulate: accumulate, kernel: kernel)
        return quantized
    }

    /// The documented arithmetic (`matmulQ4`), one element at a time: each group's eight lane
    /// sums of raw stored values exactly, four chains of eight float lanes by fused
    /// multiply-adds, the zero points' share in eight more lanes taken from them, lanes summed in
    /// a fixed order.
    func naiveProduct(_ x: Q4Activations, _ matrix: Q4Matrix) -> [Float] {
        func sumLanes(_ v: [Float]) -> Float { ((v[0] + v[4]) + (v[2] + v[6])) + ((v[1] + v[5]) + (v[3] + v[7])) }
        var y = [Float](repeating: 0, count: x.rows * matrix.rows)
        for i in 0..<x.rows {
            for r in 0..<matrix.rows {
                var chains = [[Float]](repeating: [Float](repeating: 0, count: 8), count: 4)
                var zeroShare = [Float](repeating: 0, count: 8)
                for g in 0..<x.groupStride {
                    let inRow = g < matrix.groups
                    let scale = inRow ? matrix.scale(row: r, group: g) : 0
                    let zero = Float(inRow ? matrix.zeroPoint(row: r, group: g) : 8)
                    zeroShare[g % 8] = zeroShare[g % 8].addingProduct(zero * scale, x.groupSums[i * x.groupStride + g])
                    guard inRow else { continue }
                    for lane in 0..<8 {
                        var sum = 0
                        for k in (g * matrix.groupSize)..<((g + 1) * matrix.groupSize) where (k % 32) / 4 == lane {
                            sum += Int(matrix.storedValue(row: r, column: k)) * Int(x.values[i * x.paddedColumns + k])
                        }
                        chains[g % 4][lane] = chains[g % 4][lane].addingProduct(Float(sum), scale)
                    }
                }
                let lanes = (0..<8).map { (j: Int) -> Float in
                    let sum: Float = (chains[0][j] + chains[1][j]) + (chains[2][j] + chains[3][j])
                    return sum - zeroShare[j]
                }
                y[i * matrix.rows + r] = sumLanes(lanes) * x.scales[i]
            }
        }
        return y
    }

    /// Every kernel against the naive reference, exactly: column counts that are whole
    /// 64-column chunks or not (padded), group counts that are and are not multiples of four,
    /// weight rows that fill no tile, 1 to 9 activation rows (tiles of four and their tails).
    func testProductIsExactOnEveryKernel() {
        for format in Self.formats {
            for inFeatures in [32, 48, 64, 96, 192, 320, 512]
            where inFeatures % format.groupSize == 0 || inFeatures == 48 {
                let outFeatures = 13
                let matrix = Q4Matrix(
                    quantizing: random(inFeatures * outFeatures), inFeatures: inFeatures, outFeatures: outFeatures,
                    layout: .outputMajor, format: format)
                for rows in [1, 2, 3, 4, 5, 9] {
                    let x = random(rows * inFeatures, scale: 4)
                    var first: [Float]?
                    for kernel in Int8Kernel.supported {
                        var y = [Float](repeating: 0, count: rows * outFeatures)
                        let quantized = q4Product(x, rows: rows, matrix: matrix, kernel: kernel, into: &y)
                        defer { UnsafeMutableRawPointer(quantized.groupSums).deallocate() }
                        XCTAssertEqual(
                            y, naiveProduct(quantized, matrix),
                            "\(format), \(inFeatures) columns, "
                                + "\(rows) rows, \(kernel)")
                        if let first {
                            XCTAssertEqual(y, first, "\(kernel) against \(Int8Kernel.supported[0])")
                        } else {
                            first = y
                        }
                        // Split into ranges and accumulated onto the first result: twice it.
                        var twice = y
                        for range in [0..<5, 5..<6, 6..<outFeatures] {
                            _ = q4Product(
                                x, rows: rows, matrix: matrix, kernel: kernel, rowRange: range, into: &twice,
                                accumulate: true)
                        }
                        XCTAssertEqual(twice, y.map { $0 + $0 }, "\(format) accumulate, \(kernel)")
                    }
                }
            }
        }
    }

    /// More weight rows than one block of the kernels' row loop (16 KB of packed weights), so
    /// that scales converted per block line up with their rows, on every kernel; rows summed
    /// eight at a time and one at a time, written and accumulated.
    func testProductIsExactOverSeveralRowBlocks() {
        for format in Self.formats {
            let inFeatures = 64
            let outFeatures = 1100
            let matrix = Q4Matrix(
                quantizing: random(inFeatures * outFeatures), inFeatures: inFeatures, outFeatures: outFeatures,
                layout: .outputMajor, format: format)
            let x = random(inFeatures, scale: 3)
            for kernel in Int8Kernel.supported {
                var y = [Float](repeating: 0, count: outFeatures)
                let quantized = q4Product(x, rows: 1, matrix: matrix, kernel: kernel, into: &y)
                defer { UnsafeMutableRawPointer(quantized.groupSums).deallocate() }
                XCTAssertEqual(y, naiveProduct(quantized, matrix), "\(format), \(kernel)")
                var split = [Float](repeating: 0, count: outFeatures)
                for range in [0..<517, 517..<1100] {
                    let part = q4Product(x, rows: 1, matrix: matrix, kernel: kernel, rowRange: range, into: &split)
                    UnsafeMutableRawPointer(part.groupSums).deallocate()
                }
                XCTAssertEqual(split, y, "\(format), \(kernel), split at row 517")
                var twice = y
                for range in [0..<517, 517..<1100] {
                    let part = q4Product(
                        x, rows: 1, matrix: matrix, kernel: kernel, rowRange: range, into: &twice, accumulate: true)
                    UnsafeMutableRawPointer(part.groupSums).deallocate()
                }
                XCTAssertEqual(twice, y.map { $0 + $0 }, "\(format), \(kernel), accumulated")
            }
        }
    }

    /// The kernels' result is the dequantized product up to the activations' rounding.
    func testProductMatchesDequantizedFloats() {
        let inFeatures = 256
        let outFeatures = 21
        let rows = 3
        let w = random(inFeatures * outFeatures)
        let x = random(rows * inFeatures, scale: 2)
        for format in Self.formats {
            let matrix = Q4Matrix(
                quantizing: w, inFeatures: inFeatures, outFeatures: outFeatures, layout: .outputMajor, format: format)
            var y = [Float](repeating: 0, count: rows * outFeatures)
            let quantized = q4Product(x, rows: rows, matrix: matrix, kernel: .selected, into: &y)
            UnsafeMutableRawPointer(quantized.groupSums).deallocate()
            for i in 0..<rows {
                for r in 0..<outFeatures {
                    var dequantized: Double = 0
                    var magnitude: Double = 0
                    for k in 0..<inFeatures {
                        dequantized += Double(matrix.dequantized(row: r, column: k)) * Double(x[i * inFeatures + k])
                        magnitude += abs(Double(matrix.dequantized(row: r, column: k)) * Double(x[i * inFeatures + k]))
                    }
                    // int8 activations: each off by at most half a step of max|x| / 127.
                    XCTAssertEqual(
                        Double(y[i * outFeatures + r]), dequantized, accuracy: magnitude * 0.5 / 127 * 2 + 1e-4)
                }
            }
        }
    }

    func testVNNIKernelIsTestedWhereTheCPUHasIt() throws {
        try XCTSkipUnless(
            Int8Kernel.avx512VNNI.isSupported,
            "this CPU has no AVX-512 VNNI: only the AVX2 q4 "
                + "kernel was tested")
        XCTAssertEqual(Int8Kernel.supported, [.avx2, .avx512VNNI])
    }

    func testSelectedRowsKeepTheirValues() {
        let inFeatures = 128
        let outFeatures = 6
        let matrix = Q4Matrix(
            quantizing: random(inFeatures * outFeatures), inFeatures: inFeatures, outFeatures: outFeatures,
            layout: .outputMajor, format: Q4Format(groupSize: 32, hasZeroPoint: true))
        let selected = Q4Matrix(selectingRows: [4, 1], of: matrix)
        for (j, r) in [4, 1].enumerated() {
            for k in 0..<inFeatures {
                XCTAssertEqual(selected.dequantized(row: j, column: k), matrix.dequantized(row: r, column: k))
            }
        }
    }
}
