/// Scaled dot-product attention of one query position over cached keys and values.
///
/// Cache layout per layer: [heads, capacity, headDim] row-major, so the keys of one
/// head are contiguous and a decode step streams through them once.
///
/// - out: [heads·headDim], the attention output for this position (heads concatenated);
///   only the heads in `heads` are written.
/// - query: [heads·headDim].
/// - heads: the heads to compute (all of them, or one thread's share).
/// - keys, values: the layer's cache; `headStride` = capacity·headDim.
/// - length: positions attended (0..<length); causal masking is the caller
///   choosing `length` = position + 1.
/// - scale: multiplies q·k before the softmax (1/√headDim, and GPT-2's optional 1/(layer+1)).
/// - scores: scratch of at least `length` floats.
public func attention(
    out: UnsafeMutablePointer<Float>, query: UnsafePointer<Float>,
    keys: UnsafePointer<Float>, values: UnsafePointer<Float>,
    length: Int, heads: Range<Int>, headDim: Int, headStride: Int, scale: Float,
    scores: UnsafeMutablePointer<Float>
) {
    attendHeads(
        out: out, query: query, keys: keys, values: values, length: length, heads: heads, headDim: headDim,
        headStride: headStride, scale: scale, scores: scores)
}

/// The same over a cache kept in half floats: each key and value is widened to fp32 as it is
/// read, and the rest is the fp32 arithmetic above, bit for bit.
public func attention(
    out: UnsafeMutablePointer<Float>, query: UnsafePointer<Float>,
    keys: UnsafePointer<Float16>, values: UnsafePointer<Float16>,
    length: Int, heads: Range<Int>, headDim: Int, headStride: Int, scale: Float,
    scores: UnsafeMutablePointer<Float>
) {
    attendHeads(
        out: out, query: query, keys: keys, values: values, length: length, heads: heads, headDim: headDim,
        headStride: headStride, scale: scale, scores: scores)
}

@inline(__always)
private func attendHeads<Element: CachedElement>(
    out: UnsafeMutablePointer<Float>, query: UnsafePointer<Float>,
    keys: UnsafePointer<Element>, values: UnsafePointer<Element>,
    length: Int, heads: Range<Int>, headDim: Int, headStride: Int, scale: Float,
    scores: UnsafeMutablePointer<Float>
) {
    for h in heads {
        attendHead(
            out: out + h * headDim, query: query + h * headDim,
            keys: keys + h * headStride, values: values + h * headStride, stride: headDim,
            length: length, headDim: headDim, scale: scale, scores: scores)
    }
}
