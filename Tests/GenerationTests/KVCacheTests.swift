import Kernels
import Tensor
import XCTest

@testable import Generation

/// The cache stores at its precision, attends over what it stored, and copies (beam reorders)
/// keep every position.
final class KVCacheTests: XCTestCase {
    let layers = 2, heads = 3, headDim = 12, capacity = 9

    func rows(_ positions: Int, seed: Int) -> [[Float]] {
        (0..<positions).map { t in (0..<(heads * headDim)).map { Float(sin(Double(seed * 1000 + t * 97 + $0))) * 3 } }
    }

    /// Attention as Tensor computes it over fp32 [heads, capacity, headDim] arrays.
    func expectedAttention(query: [Float], keys: [[Float]], values: [[Float]], round: (Float) -> Float) -> [Float] {
        var k = [Float](repeating: 0, count: heads * capacity * headDim)
        var v = k
        for (t, (key, value)) in zip(keys, values).enumerated() {
            for h in 0..<heads {
                for d in 0..<headDim {
                    k[(h * capacity + t) * headDim + d] = round(key[h * headDim + d])
                    v[(h * capacity + t) * headDim + d] = round(value[h * headDim + d])
                }
            }
        }
        var out = [Float](repeating: .nan, count: heads * headDim)
        var scores = [Float](repeating: 0, count: capacity)
        attention(
            out: &out, query: query, keys: k, values: v, length: keys.count, heads: 0..<heads, headDim: headDim,
            headStride: capacity * headDim, scale: 0.25, scores: &scores)
        return out
    }

    func attend(_ cache: KVCache, layer: Int, query: [Float]) -> [Float] {
        var out = [Float](repeating: .nan, count: heads * headDim)
        var scores = [Float](repeating: 0, count: capacity)
        cache.attend(
            layer: layer, out: &out, query: query, length: cache.length, heads: 0..<heads, scale: 0.25, scores: &scores)
        return out
    }

    func filled(_ precision: KVCachePrecision, positions: Int) -> KVCache {
        let cache = KVCache(layers: layers, heads: heads, headDim: headDim, capacity: capacity, precision: precision)
        for layer in 0..<layers {
            for (t, (key, value)) in zip(rows(positions, seed: layer), rows(positions, seed: 10 + layer)).enumerated() {
                cache.store(layer: layer, position: t, key: key, value: value)
            }
        }
        cache.advance(by: positions)
        return cache
    }

    func testEachPrecisionAttendsOverWhatItStored() {
        let query = rows(1, seed: 99)[0]
        for precision in KVCachePrecision.allCases {
            let round: (Float) -> Float = precision == .f16 ? { Float(Float16($0)) } : { $0 }
            let cache = filled(precision, positions: 7)
            for layer in 0..<layers {
                let expected = expectedAttention(
                    query: query, keys: rows(7, seed: layer), values: rows(7, seed: 10 + layer), round: round)
                XCTAssertEqual(attend(cache, layer: layer, query: query), expected, "\(precision), layer \(layer)")
            }
        }
        // The rounding is really there: an f16 cache is not an f32 one.
        XCTAssertNotEqual(
            attend(filled(.f16, positions: 7), layer: 1, query: query),
            attend(filled(.f32, positions: 7), layer: 1, query: query))
    }

    func testHalfCacheHoldsHalfTheBytes() {
        let f32 = KVCache(layers: layers, heads: heads, headDim: headDim, capacity: capacity)
        let f16 = KVCache(layers: layers, heads: heads, headDim: headDim, capacity: capacity, precision: .f16)
        XCTAssertEqual(f32.byteCount, 2 * layers * heads * capacity * headDim * 4)
        XCTAssertEqual(f16.byteCount * 2, f32.byteCount)
    }

    /// A beam reorder copies into a cache of another capacity: every layer, head and position.
    func testCopyKeepsEveryPositionAtBothPrecisions() {
        let query = rows(1, seed: 42)[0]
        for precision in KVCachePrecision.allCases {
            let source = filled(precision, positions: 5)
            let larger = KVCache(
                layers: layers, heads: heads, headDim: headDim, capacity: capacity + 4, precision: precision)
            larger.copy(from: source)
            XCTAssertEqual(larger.length, 5)
            for layer in 0..<layers {
                var a = [Float](repeating: .nan, count: heads * headDim)
                var b = a
                var scores = [Float](repeating: 0, count: capacity + 4)
                source.attend(
                    layer: layer, out: &a, query: query, length: 5, heads: 0..<heads, scale: 0.25, scores: &scores)
                larger.attend(
                    layer: layer, out: &b, query: query, length: 5, heads: 0..<heads, scale: 0.25, scores: &scores)
                XCTAssertEqual(a, b, "\(precision), layer \(layer)")
            }
        }
    }
}
