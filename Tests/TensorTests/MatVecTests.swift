import Foundation
import XCTest

@testable import Kernels
@testable import Tensor

/// The decode kernels and the pooled GEMM split against a naive product, over
/// shapes with ragged tails and pools of several sizes.
final class MatVecTests: XCTestCase {
    var state: UInt64 = 7
    func random(_ n: Int) -> [Float] {
        (0..<n).map { _ in
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Float(state >> 40) / Float(1 << 24) * 2 - 1
        }
    }

    func naive(_ x: [Float], _ w: [Float], rows: Int, inner: Int, cols: Int, layout: WeightLayout) -> [Float] {
        (0..<(rows * cols)).map { index in
            let r = index / cols
            let c = index % cols
            return Float(
                (0..<inner).reduce(0.0) { sum, k in
                    sum + Double(x[r * inner + k]) * Double(layout == .inputMajor ? w[k * cols + c] : w[c * inner + k])
                })
        }
    }

    func testPooledMatmulMatchesNaive() {
        let pools = [ComputePool(threads: 1), ComputePool(threads: 2), ComputePool(threads: 3)]
        defer { pools.forEach { $0.stop() } }
        for pool in pools {
            for (rows, inner, cols) in [
                (1, 300, 257), (1, 203, 301), (1, 33, 1000), (1, 7, 3), (1, 1024, 64), (3, 96, 129), (5, 64, 2304),
                (4, 203, 300), (6, 203, 300), (8, 203, 300),
                (2, 13, 9), (7, 70, 31), (8, 96, 40), (9, 48, 33), (12, 40, 17),
            ] {
                let x = random(rows * inner)
                let w = random(inner * cols)
                for layout in [WeightLayout.inputMajor, .outputMajor] {
                    let expected = naive(x, w, rows: rows, inner: inner, cols: cols, layout: layout)
                    var out = [Float](repeating: .nan, count: rows * cols)
                    matmul(
                        out: &out, input: x, weight: w, rows: rows, inner: inner, cols: cols, layout: layout, pool: pool
                    )
                    XCTAssertLessThan(
                        zip(out, expected).map { abs($0 - $1) }.max()!, 1e-4,
                        "\(pool.threadCount) "
                            + "threads \(rows)x\(inner)x\(cols) \(layout)")
                    var accumulated = [Float](repeating: 2, count: rows * cols)
                    matmul(
                        out: &accumulated, input: x, weight: w, rows: rows, inner: inner, cols: cols, layout: layout,
                        accumulate: true, pool: pool)
                    XCTAssertLessThan(zip(accumulated, expected).map { abs($0 - $1 - 2) }.max()!, 1e-4)
                }
            }
        }
    }

    /// Prompts over [in, out] matrices (the unpacked AVX-512 kernel where the CPU has it):
    /// every remainder of its six-row tiles, a W taller than one pass over a strip (800 rows
    /// against 768), 64-column strips with a last strip through sgemm, adding into `out`.
    func testPromptProductOverInputMajorWeights() throws {
        let pool = ComputePool(threads: 2)
        defer { pool.stop() }
        let inner = 800
        let cols = 199
        let w = random(inner * cols)
        for rows in 32...37 {
            let x = random(rows * inner)
            let expected = naive(x, w, rows: rows, inner: inner, cols: cols, layout: .inputMajor)
            var out = [Float](repeating: .nan, count: rows * cols)
            matmul(
                out: &out, input: x, weight: w, rows: rows, inner: inner, cols: cols, layout: .inputMajor, pool: pool)
            XCTAssertLessThan(zip(out, expected).map { abs($0 - $1) }.max()!, 1e-3, "\(rows) rows")
            var accumulated = [Float](repeating: 2, count: rows * cols)
            matmul(
                out: &accumulated, input: x, weight: w, rows: rows, inner: inner, cols: cols, layout: .inputMajor,
                accumulate: true, pool: pool)
            XCTAssertLessThan(
                zip(accumulated, expected).map { abs($0 - $1 - 2) }.max()!, 1e-3,
                "\(rows) rows, "
                    + "accumulated")
        }
    }

    /// On a machine without AVX-512 this says so, instead of passing with only sgemm tested.
    func testUnpackedKernelIsTestedWhereTheCPUHasIt() throws {
        try XCTSkipUnless(CPUFeatures.hasAVX512, "this CPU has no AVX-512: prompts were tested through sgemm only")
        if ProcessInfo.processInfo.environment["OCTAVO_F32_GEMM"] == nil {
            XCTAssertTrue(CPUFeatures.useUnpackedProduct)
        }
    }

    func testPoolRunsEveryIndexOnceAndSerializesCallers() {
        let pool = ComputePool(threads: 3)
        defer { pool.stop() }
        let counter = UnsafeMutablePointer<Int>.allocate(capacity: 3)
        defer { counter.deallocate() }
        counter.initialize(repeating: 0, count: 3)
        DispatchQueue.concurrentPerform(iterations: 4) { _ in
            for _ in 0..<500 { pool.run { counter[$0] += 1 } }
        }
        XCTAssertEqual(Array(UnsafeBufferPointer(start: counter, count: 3)), [2000, 2000, 2000])
        var covered = [Int](repeating: 0, count: 1001)
        covered.withUnsafeMutableBufferPointer { buffer in
            let base = buffer.baseAddress!
            pool.parallelFor(1001, granularity: 8) { range in for i in range { base[i] += 1 } }
        }
        XCTAssertEqual(Set(covered), [1])
    }

    /// Every (row, head) pair runs once, each thread on its own scratch index, and a
    /// job too small to share stays on the calling thread.
    func testRowsAndHeadsCoverEveryPairOnce() {
        let pool = ComputePool(threads: 2)
        defer { pool.stop() }
        for (rows, heads) in [(1, 12), (3, 5), (7, 1), (0, 4)] {
            for multiplyAdds in [0, 1 << 20] {
                var seen = [Int](repeating: 0, count: rows * heads)
                var threadsUsed = Set<Int>()
                let lock = NSLock()
                seen.withUnsafeMutableBufferPointer { buffer in
                    let base = buffer.baseAddress!
                    pool.forEachRowAndHead(rows: rows, heads: heads, multiplyAdds: multiplyAdds) { r, h, t in
                        base[r * heads + h] += 1
                        lock.lock()
                        threadsUsed.insert(t)
                        lock.unlock()
                    }
                }
                XCTAssertEqual(seen, [Int](repeating: 1, count: rows * heads), "\(rows)x\(heads)")
                XCTAssertTrue(threadsUsed.isSubset(of: [0, 1]))
                if multiplyAdds == 0 { XCTAssertTrue(threadsUsed.isSubset(of: [0])) }
                if multiplyAdds > 0 && rows * heads > 1 { XCTAssertEqual(threadsUsed, [0, 1]) }
            }
        }
    }
}

/// int8 and f16 products against the same arithmetic done naively.
final class QuantizedMatVecTests: XCTestCase {
    /// The integer path is exact on every kernel this CPU runs: any weights, any activations,
    /// any length (full vectors and tails), every tile shape, and the same floats from each.
    func testInt8ProductIsExactInIntegers() {
        var state: UInt64 = 3
        func next() -> Float {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Float(Int(state >> 33) % 2001 - 1000) / 10
        }
        for inner in [1, 31, 32, 33, 64, 100, 768] {
            // Row by row and AVX2 tiles of two (int8TileMinimumRows on); VNNI tiles of four and
            // their remainders of three, two and one, over one weight row at a time (below 8
            // rows), two (8 to 15: 8, 9, 11) or panels of four (16 on).
            for rows in [1, 2, 3, 4, 5, 8, 9, 11, int8TileMinimumRows, int8TileMinimumRows + 3] {
                let outFeatures = 9
                let w = (0..<(inner * outFeatures)).map { _ in next() }
                let x = (0..<(rows * inner)).map { _ in next() }
                let matrix = Int8Matrix(
                    quantizing: w, inFeatures: inner, outFeatures: outFeatures, layout: .outputMajor)
                var first: [Float]?
                for kernel in Int8Kernel.supported {
                    let (y, quantized) = int8Product(x, rows: rows, matrix: matrix, kernel: kernel)
                    for i in 0..<rows {
                        var q = [Int8](repeating: 0, count: inner)
                        var s: Float = 0
                        x.withUnsafeBufferPointer {
                            quantizeRow($0.baseAddress! + i * inner, count: inner, into: &q, scale: &s)
                        }
                        XCTAssertEqual(s, quantized.scales[i])
                        for k in 0..<inner { XCTAssertEqual(quantized.value(row: i, column: k), Int32(q[k])) }
                        for r in 0..<outFeatures {
                            let exact = (0..<inner).reduce(Int32(0)) {
                                $0 + Int32(matrix.values[r * inner + $1]) * Int32(q[$1])
                            }
                            XCTAssertEqual(
                                y[i * outFeatures + r], Float(exact) * matrix.scales[r] * s,
                                "\(kernel), inner \(inner) row \(i) of \(rows) output \(r)")
                        }
                    }
                    if let first {
                        XCTAssertEqual(y, first, "\(kernel) against \(Int8Kernel.supported[0])")
                    } else {
                        first = y
                    }
                    // Split over weight rows as the thread pool splits it (a tile of four, then
                    // the rest), adding into what the output holds.
                    var sum = [Float](repeating: 1, count: rows * outFeatures)
                    for range in [0..<1, 1..<6, 6..<outFeatures] {
                        matmulInt8(
                            y: &sum, yStride: outFeatures, x: quantized, weight: matrix, rowRange: range,
                            accumulate: true)
                    }
                    XCTAssertEqual(sum, y.map { 1 + $0 }, "\(kernel), accumulated, inner \(inner), \(rows) rows")
                    quantized.values.deallocate()
                    quantized.scales.deallocate()
                }
            }
        }
    }

    /// Matrices too large for one weight panel of the block kernel (about 128 KB of int8 rows:
    /// 275 KB here, so two full panels and one of 18 rows), with each thread's range starting
    /// mid-panel and off a multiple of four, and activation groups of four and a remainder of
    /// three: every output is still the exact integer product.
    func testInt8ProductAcrossWeightPanels() {
        var state: UInt64 = 11
        func next() -> Float {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Float(Int(state >> 33) % 2001 - 1000) / 10
        }
        let inner = 1100
        let outFeatures = 250
        let w = (0..<(inner * outFeatures)).map { _ in next() }
        let matrix = Int8Matrix(quantizing: w, inFeatures: inner, outFeatures: outFeatures, layout: .outputMajor)
        for rows in [int8TileMinimumRows, int8TileMinimumRows + 3] {
            let x = (0..<(rows * inner)).map { _ in next() }
            for kernel in Int8Kernel.supported {
                let (y, quantized) = int8Product(x, rows: rows, matrix: matrix, kernel: kernel)
                defer {
                    quantized.values.deallocate()
                    quantized.scales.deallocate()
                }
                var exact = [Float](repeating: 0, count: rows * outFeatures)
                for i in 0..<rows {
                    let q = (0..<inner).map { quantized.value(row: i, column: $0) }
                    for r in 0..<outFeatures {
                        var sum: Int32 = 0
                        for k in 0..<inner { sum &+= Int32(matrix.values[r * inner + k]) &* q[k] }
                        exact[i * outFeatures + r] = Float(sum) * matrix.scales[r] * quantized.scales[i]
                    }
                }
                XCTAssertEqual(y, exact, "\(kernel), \(rows) activation rows")
                var split = [Float](repeating: 0, count: rows * outFeatures)
                for range in [0..<117, 117..<outFeatures] {
                    matmulInt8(
                        y: &split, yStride: outFeatures, x: quantized, weight: matrix, rowRange: range,
                        accumulate: false)
                }
                XCTAssertEqual(split, exact, "\(kernel), split at row 117, \(rows) activation rows")
            }
        }
    }

    /// On a machine without AVX-512 VNNI this says so, instead of passing with only AVX2 tested.
    func testVNNIKernelIsTestedWhereTheCPUHasIt() throws {
        try XCTSkipUnless(
            Int8Kernel.avx512VNNI.isSupported,
            "this CPU has no AVX-512 VNNI: only the AVX2 int8 "
                + "kernel was tested")
        XCTAssertEqual(Int8Kernel.supported, [.avx2, .avx512VNNI])
        if ProcessInfo.processInfo.environment["OCTAVO_INT8_KERNEL"] == nil {
            XCTAssertEqual(Int8Kernel.selected, .avx512VNNI)
        }
    }

    /// The row sums VNNI needs are the same whether the matrix was quantized here or mapped
    /// from a file `quantize` wrote.
    func testInt8RowSumsOfWrappedMatrixMatchQuantized() {
        let inFeatures = 37
        let outFeatures = 70
        let w = (0..<(inFeatures * outFeatures)).map { Float(sin(Double($0) * 0.61)) }
        let quantized = Int8Matrix(quantizing: w, inFeatures: inFeatures, outFeatures: outFeatures, layout: .inputMajor)
        let wrapped = Int8Matrix(
            values: quantized.values, scales: quantized.scales, rows: outFeatures, columns: inFeatures, owner: quantized
        )
        for r in 0..<outFeatures {
            let sum = (0..<inFeatures).reduce(Int32(0)) { $0 + Int32(quantized.values[r * inFeatures + $1]) }
            XCTAssertEqual(quantized.rowSums[r], sum)
            XCTAssertEqual(wrapped.rowSums[r], sum)
        }
    }

    /// x·Wᵀ through `matmulInt8` on `kernel`, and the quantized activations (the caller frees them).
    private func int8Product(_ x: [Float], rows: Int, matrix: Int8Matrix, kernel: Int8Kernel) -> (
        [Float], QuantizedActivations
    ) {
        let bytes = QuantizedActivations.byteCount(rows: rows, columns: matrix.columns, kernel: kernel)
        let quantized = QuantizedActivations(
            quantizing: x, rows: rows, columns: matrix.columns, kernel: kernel,
            values: .allocate(byteCount: max(1, bytes), alignment: 64), scales: .allocate(capacity: rows))
        var y = [Float](repeating: 0, count: rows * matrix.rows)
        matmulInt8(
            y: &y, yStride: matrix.rows, x: quantized, weight: matrix, rowRange: 0..<matrix.rows, accumulate: false)
        return (y, quantized)
    }

    func testInt8MatrixMatchesDequantizedProduct() {
        let inFeatures = 70
        let outFeatures = 33
        let rows = 6
        let w = (0..<(inFeatures * outFeatures)).map { Float(sin(Double($0) * 0.37)) }
        let x = (0..<(rows * inFeatures)).map { Float(cos(Double($0) * 0.11)) * 2 }
        for layout in [WeightLayout.inputMajor, .outputMajor] {
            let matrix = Int8Matrix(quantizing: w, inFeatures: inFeatures, outFeatures: outFeatures, layout: layout)
            var xq = [Int8](repeating: 0, count: rows * inFeatures)
            var xs = [Float](repeating: 0, count: rows)
            for i in 0..<rows {
                x.withUnsafeBufferPointer {
                    quantizeRow(
                        $0.baseAddress! + i * inFeatures, count: inFeatures, into: &xq[i * inFeatures], scale: &xs[i])
                }
            }
            let (y, quantized) = int8Product(x, rows: rows, matrix: matrix, kernel: .selected)
            defer {
                quantized.values.deallocate()
                quantized.scales.deallocate()
            }
            XCTAssertEqual(Array(UnsafeBufferPointer(start: quantized.scales, count: rows)), xs)
            for i in 0..<rows {
                for r in 0..<outFeatures {
                    var exact: Double = 0
                    var dequantized: Double = 0
                    for k in 0..<inFeatures {
                        let weight = layout == .outputMajor ? w[r * inFeatures + k] : w[k * outFeatures + r]
                        exact += Double(weight) * Double(x[i * inFeatures + k])
                        dequantized +=
                            Double(matrix.values[r * inFeatures + k]) * Double(matrix.scales[r])
                            * Double(xq[i * inFeatures + k]) * Double(xs[i])
                        XCTAssertLessThanOrEqual(
                            abs(Double(matrix.values[r * inFeatures + k]) * Double(matrix.scales[r]) - Double(weight)),
                            Double(matrix.scales[r]) / 2 + 1e-6)
                    }
                    XCTAssertEqual(Double(y[i * outFeatures + r]), dequantized, accuracy: 1e-3)
                    XCTAssertEqual(Double(y[i * outFeatures + r]), exact, accuracy: 0.2)
                }
            }
        }
    }

    func testHalfMatrixMatchesRoundedProduct() {
        let inFeatures = 45
        let outFeatures = 20
        let rows = 2
        let w = (0..<(inFeatures * outFeatures)).map { Float(sin(Double($0) * 0.37)) }
        let x = (0..<(rows * inFeatures)).map { Float(cos(Double($0) * 0.11)) }
        let matrix = HalfMatrix(converting: w, inFeatures: inFeatures, outFeatures: outFeatures, layout: .inputMajor)
        var y = [Float](repeating: 0, count: rows * outFeatures)
        matmulHalf(
            y: &y, yStride: outFeatures, x: x, activations: rows, weight: matrix, rowRange: 0..<outFeatures,
            accumulate: false)
        for i in 0..<rows {
            for r in 0..<outFeatures {
                let expected = (0..<inFeatures).reduce(0.0) {
                    $0 + Double(Float(Float16(w[$1 * outFeatures + r]))) * Double(x[i * inFeatures + $1])
                }
                XCTAssertEqual(Double(y[i * outFeatures + r]), expected, accuracy: 1e-4)
            }
        }
    }
}
