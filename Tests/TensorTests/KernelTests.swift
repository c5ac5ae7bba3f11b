import Foundation
import Kernels
import XCTest

@testable import Tensor

/// Each kernel against a naive reference written the obvious way.
final class KernelTests: XCTestCase {
    var state: UInt64 = 42
    func random(_ n: Int, scale: Float = 1) -> [Float] {
        (0..<n).map { _ in
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return (Float(state >> 40) / Float(1 << 24) * 2 - 1) * scale
        }
    }

    func naiveMatmul(_ x: [Float], _ w: [Float], rows: Int, inner: Int, cols: Int, layout: WeightLayout) -> [Float] {
        var out = [Float](repeating: 0, count: rows * cols)
        for r in 0..<rows {
            for c in 0..<cols {
                var s: Double = 0
                for k in 0..<inner {
                    let weight = layout == .inputMajor ? w[k * cols + c] : w[c * inner + k]
                    s += Double(x[r * inner + k]) * Double(weight)
                }
                out[r * cols + c] = Float(s)
            }
        }
        return out
    }

    func testMatmulBothLayoutsGemvAndGemm() {
        for (rows, inner, cols) in [(1, 37, 19), (5, 64, 48), (3, 1, 7), (1, 8, 1)] {
            let x = random(rows * inner)
            let w = random(inner * cols)
            for layout in [WeightLayout.inputMajor, .outputMajor] {
                var out = [Float](repeating: 0, count: rows * cols)
                matmul(out: &out, input: x, weight: w, rows: rows, inner: inner, cols: cols, layout: layout)
                let expected = naiveMatmul(x, w, rows: rows, inner: inner, cols: cols, layout: layout)
                XCTAssertLessThan(
                    zip(out, expected).map { abs($0 - $1) }.max()!, 1e-4,
                    "\(rows)x\(inner)x\(cols) "
                        + "\(layout)")
                // accumulate adds onto what is there
                var acc = [Float](repeating: 1, count: rows * cols)
                matmul(
                    out: &acc, input: x, weight: w, rows: rows, inner: inner, cols: cols, layout: layout,
                    accumulate: true)
                XCTAssertLessThan(zip(acc, expected).map { abs($0 - $1 - 1) }.max()!, 1e-4)
            }
        }
    }

    func testLayerNorm() {
        let rows = 3
        let cols = 50
        let x = random(rows * cols, scale: 5).map { $0 + 100 }  // a large mean must not lose digits
        let w = random(cols)
        let b = random(cols)
        var out = [Float](repeating: 0, count: rows * cols)
        layerNorm(out: &out, input: x, weight: w, bias: b, rows: rows, cols: cols, epsilon: 1e-5)
        for r in 0..<rows {
            let row = x[(r * cols)..<((r + 1) * cols)].map(Double.init)
            let mean = row.reduce(0, +) / Double(cols)
            let variance = row.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(cols)
            for i in 0..<cols {
                let expected = (row[i] - mean) / (variance + 1e-5).squareRoot() * Double(w[i]) + Double(b[i])
                XCTAssertEqual(out[r * cols + i], Float(expected), accuracy: 1e-4)
            }
        }
    }

    func testActivations() {
        let x: [Float] = [-3, -1, -0.5, 0, 0.5, 1, 3]
        func check(_ activation: Activation, _ f: (Double) -> Double) {
            var y = x
            activation.apply(&y, count: y.count)
            for (v, got) in zip(x, y) {
                XCTAssertEqual(got, Float(f(Double(v))), accuracy: 1e-6, "\(activation) at \(v)")
            }
        }
        let tanhGelu: (Double) -> Double = {
            0.5 * $0 * (1 + tanh((2 / Double.pi).squareRoot() * ($0 + 0.044715 * $0 * $0 * $0)))
        }
        check(.geluNew, tanhGelu)
        check(.geluPyTorchTanh, tanhGelu)
        check(.gelu) { 0.5 * $0 * (1 + erf($0 / 2.0.squareRoot())) }
        check(.relu) { max($0, 0) }
        check(.silu) { $0 / (1 + exp(-$0)) }
        check(.quickGelu) { $0 / (1 + exp(-1.702 * $0)) }
    }

    func testSoftmaxAndLogSoftmax() {
        var x: [Float] = [1, 2, 3, -.infinity]
        var log = [Float](repeating: 0, count: 4)
        logSoftmax(out: &log, input: x, count: 4)
        softmax(&x, count: 4)
        let z = exp(1.0) + exp(2.0) + exp(3.0)
        XCTAssertEqual(x[0], Float(exp(1.0) / z), accuracy: 1e-6)
        XCTAssertEqual(x[2], Float(exp(3.0) / z), accuracy: 1e-6)
        XCTAssertEqual(x[3], 0)
        XCTAssertEqual(log[1], Float(2 - Foundation.log(z)), accuracy: 1e-5)
    }

    /// A vocabulary-sized row (vector body, scalar tail, masked entries), in place as beam
    /// search calls it, against log-softmax in Double.
    func testLogSoftmaxOfLongRowInPlace() {
        let count = 50_257
        var x = (0..<count).map { Float(sin(Double($0) * 0.013) * 12) }
        x[17] = -.infinity
        x[count - 2] = -.infinity
        let maximum = x.map(Double.init).max()!
        let logSum = maximum + Foundation.log(x.reduce(0.0) { $0 + exp(Double($1) - maximum) })
        let expected = x.map { Double($0) - logSum }
        x.withUnsafeMutableBufferPointer { logSoftmax(out: $0.baseAddress!, input: $0.baseAddress!, count: count) }
        XCTAssertEqual(x[17], -.infinity)
        XCTAssertEqual(x[count - 2], -.infinity)
        for i in 0..<count where expected[i].isFinite {
            XCTAssertEqual(Double(x[i]), expected[i], accuracy: 1e-4 * max(1, abs(expected[i])), "entry \(i)")
        }
    }

    /// The generic head (width 10) and the 64-wide kernel, over lengths that end on every
    /// remainder of its four-key groups, from a cache and from projection rows.
    func testAttentionAgainstNaive() {
        for (headDim, length) in [(10, 11), (64, 1), (64, 3), (64, 4), (64, 6), (64, 37)] {
            let heads = 3
            let capacity = 40
            let q = random(heads * headDim)
            let k = random(heads * capacity * headDim)
            let v = random(heads * capacity * headDim)
            let scale: Float = 0.3
            var expected = [Float](repeating: 0, count: heads * headDim)
            for h in 0..<heads {
                var weights = (0..<length).map { t -> Double in
                    (0..<headDim).reduce(0.0) {
                        $0 + Double(q[h * headDim + $1]) * Double(k[h * capacity * headDim + t * headDim + $1])
                    } * Double(scale)
                }
                let m = weights.max()!
                weights = weights.map { exp($0 - m) }
                let total = weights.reduce(0, +)
                for d in 0..<headDim {
                    expected[h * headDim + d] = Float(
                        (0..<length).reduce(0.0) {
                            $0 + weights[$1] / total * Double(v[h * capacity * headDim + $1 * headDim + d])
                        })
                }
            }
            var out = [Float](repeating: .nan, count: heads * headDim)
            var scores = [Float](repeating: 0, count: capacity)
            attention(
                out: &out, query: q, keys: k, values: v, length: length, heads: 0..<heads, headDim: headDim,
                headStride: capacity * headDim, scale: scale, scores: &scores)
            for i in 0..<(heads * headDim) {
                XCTAssertEqual(
                    out[i], expected[i], accuracy: 1e-5, "head width \(headDim), length \(length), element \(i)")
            }

            // The same keys and values as rows of a projection: row t holds every head's position t.
            let rowStride = heads * headDim
            var keyRows = [Float](repeating: 0, count: length * rowStride)
            var valueRows = keyRows
            for h in 0..<heads {
                for t in 0..<length {
                    for d in 0..<headDim {
                        keyRows[t * rowStride + h * headDim + d] = k[h * capacity * headDim + t * headDim + d]
                        valueRows[t * rowStride + h * headDim + d] = v[h * capacity * headDim + t * headDim + d]
                    }
                }
            }
            var rowsOut = [Float](repeating: .nan, count: heads * headDim)
            attentionOverRows(
                out: &rowsOut, query: q, keys: keyRows, values: valueRows, length: length, heads: 0..<heads,
                headDim: headDim, rowStride: rowStride, scale: scale, scores: &scores)
            for i in 0..<(heads * headDim) {
                XCTAssertEqual(
                    rowsOut[i], expected[i], accuracy: 1e-5, "over rows, head width \(headDim), length \(length)")
            }
        }
    }

    /// The attention kernel schedules its work differently from a `dot` per key and an `axpy`
    /// per value row (four keys at once, the output in registers), but adds the same numbers
    /// in the same order: bit for bit the same result, on widths with every kind of tail.
    func testAttentionIsBitForBitTheDotAndAxpyLoop() {
        for headDim in [10, 64, 72, 100, 130] {
            for length in [1, 2, 3, 4, 5, 8, 9, 37] {
                let heads = 2
                let capacity = 40
                let q = random(heads * headDim)
                let k = random(heads * capacity * headDim)
                let v = random(heads * capacity * headDim)
                let scale: Float = 0.37
                var expected = [Float](repeating: 0, count: heads * headDim)
                q.withUnsafeBufferPointer { q in
                    k.withUnsafeBufferPointer { k in
                        v.withUnsafeBufferPointer { v in
                            expected.withUnsafeMutableBufferPointer { o in
                                for h in 0..<heads {
                                    var scores = [Float](repeating: 0, count: length)
                                    for t in 0..<length {
                                        let key = k.baseAddress! + (h * capacity + t) * headDim
                                        scores[t] = dot(q.baseAddress! + h * headDim, key, count: headDim) * scale
                                    }
                                    softmax(&scores, count: length)
                                    for t in 0..<length {
                                        axpy(
                                            o.baseAddress! + h * headDim, scores[t],
                                            v.baseAddress! + (h * capacity + t) * headDim, count: headDim)
                                    }
                                }
                            }
                        }
                    }
                }
                var out = [Float](repeating: .nan, count: heads * headDim)
                var scratch = [Float](repeating: 0, count: capacity)
                attention(
                    out: &out, query: q, keys: k, values: v, length: length, heads: 0..<heads, headDim: headDim,
                    headStride: capacity * headDim, scale: scale, scores: &scratch)
                XCTAssertEqual(out, expected, "head width \(headDim), length \(length)")
            }
        }
    }

    func testDotAndAxpyAllTailLengths() {
        for n in 0..<40 {
            let a = random(n)
            let b = random(n)
            let expected = zip(a, b).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
            XCTAssertEqual(dot(a, b, count: n), Float(expected), accuracy: 1e-5)
            var y = a
            axpy(&y, 2, b, count: n)
            for i in 0..<n { XCTAssertEqual(y[i], a[i] + 2 * b[i], accuracy: 1e-6) }
        }
    }
}

/// The vector exp and tanh against libm over their whole useful range.
final class VectorMathTests: XCTestCase {
    func testExp8WithinTwoUlpOfLibm() {
        var worstUlps: Float = 0
        var x: Float = -104
        while x < 89 {
            let lanes = SIMD8<Float>((0..<8).map { x + Float($0) * 0.0137 })
            let got = exp8(lanes)
            for lane in 0..<8 {
                let expected = expf(lanes[lane])
                if expected == 0 || expected.isInfinite {
                    XCTAssertEqual(got[lane], expected, "exp(\(lanes[lane]))")
                } else if expected >= Float.leastNormalMagnitude {
                    worstUlps = max(worstUlps, abs(got[lane] - expected) / expected.ulp)
                }
            }
            x += 0.1
        }
        XCTAssertLessThanOrEqual(worstUlps, 2, "worst error \(worstUlps) ulp")
        XCTAssertTrue(exp8(SIMD8<Float>(repeating: .nan))[0].isNaN)
        XCTAssertEqual(exp8(SIMD8<Float>(repeating: -.infinity))[0], 0)
        XCTAssertEqual(exp8(SIMD8<Float>(repeating: .infinity))[0], .infinity)
    }

    func testTanh8AbsoluteError() {
        var worst: Float = 0
        var x: Float = -20
        while x < 20 {
            let lanes = SIMD8<Float>((0..<8).map { x + Float($0) * 0.0031 })
            let got = tanh8(lanes)
            for lane in 0..<8 { worst = max(worst, abs(got[lane] - tanhf(lanes[lane]))) }
            x += 0.025
        }
        XCTAssertLessThan(worst, 2e-7)
    }
}
