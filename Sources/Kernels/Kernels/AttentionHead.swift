/// One head of scaled dot-product attention for one query: out = softmax(scale · q·Kᵀ)·V over
/// `length` keys and values, each row `stride` floats after the one before.
///
/// The arithmetic is exactly `dot` per key and `axpy` per value row, in their order, so the
/// results are bit for bit those of that plain loop; only the schedule differs. Four keys'
/// dot products run at once, each query vector loaded once for all four; and the output is
/// held in registers, 64 floats at a time, across every value row, where `axpy` loaded and
/// stored it for each row (every step then waited on the store before).
///
/// Keys and values may be kept as fp32 or as half floats (`CachedElement`): half ones are
/// widened as they are loaded (exactly), so the result is bit for bit this kernel's over the
/// widened fp32 rows.
@inline(__always)
func attendHead<Element: CachedElement>(
    out: UnsafeMutablePointer<Float>, query: UnsafePointer<Float>,
    keys: UnsafePointer<Element>, values: UnsafePointer<Element>, stride: Int,
    length: Int, headDim: Int, scale: Float, scores: UnsafeMutablePointer<Float>
) {
    var t = 0
    while t + 4 <= length {
        let s = dot4(query, keys + t * stride, stride: stride, count: headDim)
        scores[t] = s[0] * scale
        scores[t + 1] = s[1] * scale
        scores[t + 2] = s[2] * scale
        scores[t + 3] = s[3] * scale
        t += 4
    }
    while t < length {
        scores[t] = dotRow(query, keys + t * stride, count: headDim) * scale
        t += 1
    }
    softmax(scores, count: length)
    weightedSumOfRows(out: out, weights: scores, rows: values, stride: stride, count: length, width: headDim)
}

/// The dot products of `a` with four rows of `b` (`stride` floats apart), each summed exactly
/// as `dot` sums it: two accumulators over alternate groups of eight, then the lanes, then
/// the scalar tail.
@inline(__always)
func dot4<Element: CachedElement>(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Element>, stride: Int, count: Int)
    -> SIMD4<Float>
{
    let rawA = UnsafeRawPointer(a)
    let b0 = b
    let b1 = b + stride
    let b2 = b + 2 * stride
    let b3 = b + 3 * stride
    var e0 = SIMD8<Float>()
    var e1 = SIMD8<Float>()
    var e2 = SIMD8<Float>()
    var e3 = SIMD8<Float>()
    var o0 = SIMD8<Float>()
    var o1 = SIMD8<Float>()
    var o2 = SIMD8<Float>()
    var o3 = SIMD8<Float>()
    @inline(__always) func query(_ i: Int) -> SIMD8<Float> {
        rawA.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self)
    }
    @inline(__always) func load(_ p: UnsafePointer<Element>, _ i: Int) -> SIMD8<Float> { Element.widen8(p + i) }
    var i = 0
    while i + 16 <= count {
        let even = query(i)
        let odd = query(i + 8)
        e0 += even * load(b0, i)
        o0 += odd * load(b0, i + 8)
        e1 += even * load(b1, i)
        o1 += odd * load(b1, i + 8)
        e2 += even * load(b2, i)
        o2 += odd * load(b2, i + 8)
        e3 += even * load(b3, i)
        o3 += odd * load(b3, i + 8)
        i += 16
    }
    if i + 8 <= count {
        let even = query(i)
        e0 += even * load(b0, i)
        e1 += even * load(b1, i)
        e2 += even * load(b2, i)
        e3 += even * load(b3, i)
        i += 8
    }
    var sums = SIMD4((e0 + o0).sum(), (e1 + o1).sum(), (e2 + o2).sum(), (e3 + o3).sum())
    while i < count {
        let x = a[i]
        sums[0] += x * b0[i].widened
        sums[1] += x * b1[i].widened
        sums[2] += x * b2[i].widened
        sums[3] += x * b3[i].widened
        i += 1
    }
    return sums
}

/// out = Σ_t weights[t] · rows[t] over `count` rows of `width` floats, `stride` apart, summed
/// in t order from zero exactly as `axpy` row after row would, with 64 columns of the sum
/// kept in registers over all the rows.
@inline(__always)
func weightedSumOfRows<Element: CachedElement>(
    out: UnsafeMutablePointer<Float>, weights: UnsafePointer<Float>, rows: UnsafePointer<Element>, stride: Int,
    count: Int, width: Int
) {
    let rawOut = UnsafeMutableRawPointer(out)
    @inline(__always) func load(_ t: Int, _ c: Int) -> SIMD8<Float> { Element.widen8(rows + t * stride + c) }
    var c = 0
    while c + 64 <= width {
        var a0 = SIMD8<Float>()
        var a1 = SIMD8<Float>()
        var a2 = SIMD8<Float>()
        var a3 = SIMD8<Float>()
        var a4 = SIMD8<Float>()
        var a5 = SIMD8<Float>()
        var a6 = SIMD8<Float>()
        var a7 = SIMD8<Float>()
        for t in 0..<count {
            let w = SIMD8<Float>(repeating: weights[t])
            a0 = a0 + w * load(t, c)
            a1 = a1 + w * load(t, c + 8)
            a2 = a2 + w * load(t, c + 16)
            a3 = a3 + w * load(t, c + 24)
            a4 = a4 + w * load(t, c + 32)
            a5 = a5 + w * load(t, c + 40)
            a6 = a6 + w * load(t, c + 48)
            a7 = a7 + w * load(t, c + 56)
        }
        @inline(__always) func store(_ a: SIMD8<Float>, _ j: Int) {
            rawOut.storeBytes(of: a, toByteOffset: (c + 8 * j) * 4, as: SIMD8<Float>.self)
        }
        store(a0, 0)
        store(a1, 1)
        store(a2, 2)
        store(a3, 3)
        store(a4, 4)
        store(a5, 5)
        store(a6, 6)
        store(a7, 7)
        c += 64
    }
    while c + 8 <= width {
        var a = SIMD8<Float>()
        for t in 0..<count { a = a + SIMD8<Float>(repeating: weights[t]) * load(t, c) }
        rawOut.storeBytes(of: a, toByteOffset: c * 4, as: SIMD8<Float>.self)
        c += 8
    }
    while c < width {
        var a: Float = 0
        for t in 0..<count { a += weights[t] * rows[t * stride + c].widened }
        out[c] = a
        c += 1
    }
}

/// What keys and values may be kept as: fp32, or half floats (half the bytes for attention to
/// read; a KV cache's opt-in).
public protocol CachedElement {
    /// Eight consecutive elements from `p` (any alignment), as fp32.
    static func widen8(_ p: UnsafePointer<Self>) -> SIMD8<Float>
    var widened: Float { get }
}

extension Float: CachedElement {
    @inline(__always) public static func widen8(_ p: UnsafePointer<Float>) -> SIMD8<Float> {
        UnsafeRawPointer(p).loadUnaligned(as: SIMD8<Float>.self)
    }
    @inline(__always) public var widened: Float { self }
}

extension Float16: CachedElement {
    /// F16C's vcvtph2ps: exact.
    @inline(__always) public static func widen8(_ p: UnsafePointer<Float16>) -> SIMD8<Float> {
        SIMD8<Float>(UnsafeRawPointer(p).loadUnaligned(as: SIMD8<Float16>.self))
    }
    @inline(__always) public var widened: Float { Float(self) }
}
