import XCTest
@testable import Tensor

/// The decode kernels and the pooled GEMM split against a naive product, over
/// shapes with ragged tails and pools of several sizes.
final class MatVecTests: XCTestCase {
    var state: UInt64 = 7
    func random(_ n: Int) -> [Float] {
        (0..<n).map { _ in
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Float(state >> 40) / Float(1 << 24) * 2 - 1
        }
    }

    func naive(_ x: [Float], _ w: [Float], rows: Int, inner: Int, cols: Int, layout: WeightLayout) -> [Float] {
        (0..<(rows * cols)).map { index in
            let r = index / cols, c = index % cols
            return Float((0..<inner).reduce(0.0) { sum, k in
                sum + Double(x[r * inner + k]) * Double(layout == .inputMajor ? w[k * cols + c] : w[c * inner + k])
            })
        }
    }

    func testPooledMatmulMatchesNaive() {
        let pools = [ComputePool(threads: 1), ComputePool(threads: 2), ComputePool(threads: 3)]
        defer { pools.forEach { $0.stop() } }
        for pool in pools {
            for (rows, inner, cols) in [(1, 300, 257), (1, 33, 1000), (1, 7, 3), (1, 1024, 64), (3, 96, 129), (5, 64, 2304)] {
                let x = random(rows * inner), w = random(inner * cols)
                for layout in [WeightLayout.inputMajor, .outputMajor] {
                    let expected = naive(x, w, rows: rows, inner: inner, cols: cols, layout: layout)
                    var out = [Float](repeating: .nan, count: rows * cols)
                    matmul(out: &out, input: x, weight: w, rows: rows, inner: inner, cols: cols, layout: layout, pool: pool)
                    XCTAssertLessThan(zip(out, expected).map { abs($0 - $1) }.max()!, 1e-4, "\(pool.threadCount) threads \(rows)x\(inner)x\(cols) \(layout)")
                    var accumulated = [Float](repeating: 2, count: rows * cols)
                    matmul(out: &accumulated, input: x, weight: w, rows: rows, inner: inner, cols: cols, layout: layout, accumulate: true, pool: pool)
                    XCTAssertLessThan(zip(accumulated, expected).map { abs($0 - $1 - 2) }.max()!, 1e-4)
                }
            }
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
}
