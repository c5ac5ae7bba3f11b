import Kernels
import XCTest

@testable import Tensor

/// Attention over keys and values kept as half floats (an f16 KV cache): the fp32 kernel's
/// arithmetic on the widened values, bit for bit, and the narrowing rounds as torch's `.half()`.
final class HalfCacheAttentionTests: XCTestCase {
    var generator = SystemRandomNumberGenerator()
    func random(_ n: Int) -> [Float] { (0..<n).map { _ in Float.random(in: -2...2, using: &generator) } }

    func testNarrowingRoundsToNearestEvenOnEveryLane() {
        // Halfway between two halves, both ways; past the half range; tiny; the 8-wide body and the tail.
        let one = Float(1)
        let ulp = Float(Float16.ulpOfOne)
        let specials: [Float] = [
            one + ulp / 2, one + 3 * ulp / 2, -(one + ulp / 2), 65520, -70000, 1e-8, 0, -0.0, 65504, .infinity,
        ]
        for count in [0, 1, 7, 8, 9, 17, specials.count] {
            let input = Array((specials + random(count)).prefix(count))
            var out = [Float16](repeating: .nan, count: count)
            narrowToFloat16(out: &out, input: input, count: count)
            for i in 0..<count {
                XCTAssertEqual(
                    out[i].bitPattern, Float16(input[i]).bitPattern,
                    "element \(i) of \(count): "
                        + "\(input[i])")
            }
        }
        var tie = [Float16](repeating: 0, count: 2)
        narrowToFloat16(out: &tie, input: [one + ulp / 2, one + 3 * ulp / 2], count: 2)
        XCTAssertEqual(tie, [1, Float16(one + 2 * ulp)], "ties go to the even neighbour")
        var overflow = [Float16](repeating: 0, count: 1)
        narrowToFloat16(out: &overflow, input: [65520], count: 1)
        XCTAssertEqual(overflow[0], .infinity)
    }

    /// Every tail of the four-key groups and of the 8- and 64-wide column loops.
    func testHalfCacheIsTheFloatKernelOnWidenedValues() {
        for headDim in [10, 64, 72, 100, 130] {
            for length in [1, 2, 3, 4, 5, 8, 9, 37] {
                let heads = 2
                let capacity = 40
                let count = heads * capacity * headDim
                let q = random(heads * headDim)
                let halfKeys = random(count).map { Float16($0) }
                let halfValues = random(count).map { Float16($0) }
                let keys = halfKeys.map { Float($0) }
                let values = halfValues.map { Float($0) }
                var expected = [Float](repeating: .nan, count: heads * headDim)
                var out = expected
                var scores = [Float](repeating: 0, count: capacity)
                attention(
                    out: &expected, query: q, keys: keys, values: values, length: length, heads: 0..<heads,
                    headDim: headDim,
                    headStride: capacity * headDim, scale: 0.37, scores: &scores)
                attention(
                    out: &out, query: q, keys: halfKeys, values: halfValues, length: length, heads: 0..<heads,
                    headDim: headDim,
                    headStride: capacity * headDim, scale: 0.37, scores: &scores)
                XCTAssertEqual(out, expected, "head width \(headDim), length \(length)")
            }
        }
    }
}
