/// Layer normalization over the last dimension, as `torch.nn.LayerNorm` computes it:
/// out = (x - mean) / sqrt(var + eps) · weight + bias, with the biased variance.
///
/// input, out: [rows, cols]; weight, bias: [cols]. `out` may alias `input`.
public func layerNorm(
    out: UnsafeMutablePointer<Float>, input: UnsafePointer<Float>,
    weight: UnsafePointer<Float>, bias: UnsafePointer<Float>,
    rows: Int, cols: Int, epsilon: Float
) {
    for r in 0..<rows {
        let x = input + r * cols
        let y = out + r * cols
        // Two passes (mean, then centred squares) as PyTorch does: one-pass
        // E[x²] - E[x]² loses digits when the mean is large.
        var sum: Float = 0
        for i in 0..<cols { sum += x[i] }
        let mean = sum / Float(cols)
        var squares: Float = 0
        for i in 0..<cols {
            let d = x[i] - mean
            squares += d * d
        }
        let inverseStd = 1 / (squares / Float(cols) + epsilon).squareRoot()
        for i in 0..<cols {
            y[i] = (x[i] - mean) * inverseStd * weight[i] + bias[i]
        }
    }
}
