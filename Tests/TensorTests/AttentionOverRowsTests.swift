import Foundation
import Kernels
import XCTest

@testable import Tensor

/// `attentionOverRows` against a naive reference written the obvious way.
final class AttentionOverRowsTests: XCTestCase {
    var state: UInt64 = 7
    func random(_ n: Int) -> [Float] {
        (0..<n).map { _ in
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Float(state >> 40) / Float(1 << 24) * 2 - 1
        }
    }

    /// Keys and values as rows [length, rowStride], with extra columns past the heads
    /// (a fused projection) that must be skipped.
    func testMatchesNaiveSoftmaxAttention() {
        for (heads, headDim, length, extra) in [(3, 10, 11, 0), (2, 8, 1, 5), (4, 3, 17, 2)] {
            let rowStride = heads * headDim + extra
            let q = random(heads * headDim)
            let k = random(length * rowStride)
            let v = random(length * rowStride)
            var out = [Float](repeating: .nan, count: heads * headDim)
            var scores = [Float](repeating: 0, count: length)
            let scale: Float = 0.4
            attentionOverRows(
                out: &out, query: q, keys: k, values: v, length: length, heads: 0..<heads, headDim: headDim,
                rowStride: rowStride, scale: scale, scores: &scores)
            for h in 0..<heads {
                var weights = (0..<length).map { t -> Double in
                    (0..<headDim).reduce(0.0) {
                        $0 + Double(q[h * headDim + $1]) * Double(k[t * rowStride + h * headDim + $1])
                    } * Double(scale)
                }
                let m = weights.max()!
                weights = weights.map { exp($0 - m) }
                let total = weights.reduce(0, +)
                for d in 0..<headDim {
                    let expected = (0..<length).reduce(0.0) {
                        $0 + weights[$1] / total * Double(v[$1 * rowStride + h * headDim + d])
                    }
                    XCTAssertEqual(
                        out[h * headDim + d], Float(expected), accuracy: 1e-5,
                        "heads \(heads) length "
                            + "\(length)")
                }
            }
        }
    }
}
