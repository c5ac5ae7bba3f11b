/// exp over 8 lanes at once, for the element-wise kernels (GELU, softmax).
///
/// Cephes' expf: x = n·ln2 + r with |r| ≤ ln2/2 (ln2 split in two parts so the
/// reduction is exact), a degree-5 polynomial for e^r, and 2^n built in the
/// exponent bits. Within 2 ulp of libm's expf over the whole float range, and
/// 0 / +inf outside it, which is all the callers need (the tests hold it to that).
// Transparent: with @inline(__always) alone it stayed an out-of-line call inside
// logSoftmax (3.7% of an NLLB batch-16 beam-4 translation in the call).
@_transparent
public func exp8(_ input: SIMD8<Float>) -> SIMD8<Float> {
    let maxInput = SIMD8<Float>(repeating: 88.72283)
    let minInput = SIMD8<Float>(repeating: -103.97208)
    // Clamped by compare-and-blend: the stdlib's `clamped` goes through its generic
    // pointwiseMin/Max, an out-of-line call per vector (4.5% of an NLLB beam search).
    var x = input.replacing(with: maxInput, where: input .> maxInput)
    x.replace(with: minInput, where: x .< minInput)
    // n = round(x / ln2) by the 1.5·2^23 trick: adding it rounds to an integer, and the
    // integer sits in the low mantissa bits. (The stdlib's rounding and Float -> Int32
    // lane conversions are generic calls the optimizer leaves out of line.)
    let magic = SIMD8<Float>(repeating: 12_582_912)
    let shifted = x * 1.442695040888963 + magic
    let n = shifted - magic
    let ni = unsafeBitCast(shifted, to: SIMD8<Int32>.self) &- 0x4B40_0000
    x = x - n * 0.693359375
    x = x - n * -2.12194440e-4
    var p = SIMD8<Float>(repeating: 1.9875691500e-4)
    p = p * x + 1.3981999507e-3
    p = p * x + 8.3334519073e-3
    p = p * x + 4.1665795894e-2
    p = p * x + 1.6666665459e-1
    p = p * x + 5.0000001201e-1
    let xx = x * x
    let expR = p * xx + x + 1
    // 2^n through the exponent field; n in [-150, 128] after the clamp, split in two
    // factors so subnormal results and n = 128 stay representable.
    let half = ni &>> 1
    let scaleA = unsafeBitCast((half &+ 127) &<< 23, to: SIMD8<Float>.self)
    let scaleB = unsafeBitCast(((ni &- half) &+ 127) &<< 23, to: SIMD8<Float>.self)
    var result = expR * scaleA * scaleB
    result.replace(with: SIMD8<Float>(repeating: .infinity), where: input .> maxInput)
    result.replace(with: SIMD8<Float>(repeating: 0), where: input .< minInput)
    result.replace(with: input, where: input .!= input)  // NaN stays NaN
    return result
}

/// tanh over 8 lanes: 1 - 2/(e^{2|x|} + 1) with the sign put back (absolute error < 1e-7).
@inline(__always)
public func tanh8(_ x: SIMD8<Float>) -> SIMD8<Float> {
    let magnitude = x.replacing(with: -x, where: x .< 0)
    let e = exp8(2 * magnitude)
    let t = 1 - 2 / (e + 1)
    return t.replacing(with: -t, where: x .< 0)
}
