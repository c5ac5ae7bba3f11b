/// Scaled dot-product attention of one query position over keys and values kept
/// as rows of a projection's output, heads concatenated within each row: the layout
/// of an encoder's k/v projections over a whole sequence, attended all at once
/// (no cache to fill, no causal mask; padding is left out by passing only the
/// sequence's own rows).
///
/// - out: [heads·headDim], the attention output (heads concatenated); only the heads in
///   `heads` (all of them, or one thread's share) are written.
/// - query: [heads·headDim].
/// - keys, values: the first of `length` rows; row t of head h starts at
///   t·rowStride + h·headDim (rowStride = heads·headDim for a plain projection output).
/// - scale: multiplies q·k before the softmax (1/√headDim).
/// - scores: scratch of at least `length` floats.
public func attentionOverRows(
    out: UnsafeMutablePointer<Float>, query: UnsafePointer<Float>,
    keys: UnsafePointer<Float>, values: UnsafePointer<Float>,
    length: Int, heads: Range<Int>, headDim: Int, rowStride: Int, scale: Float,
    scores: UnsafeMutablePointer<Float>
) {
    for h in heads {
        attendHead(
            out: out + h * headDim, query: query + h * headDim,
            keys: keys + h * headDim, values: values + h * headDim, stride: rowStride,
            length: length, headDim: headDim, scale: scale, scores: scores)
    }
}
