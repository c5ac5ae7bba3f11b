/// A linear map y = x·W + b over fp32 weights, in whichever layout the checkpoint stores them.
public struct Linear: @unchecked Sendable {
    public let weight: FloatBuffer
    public let bias: FloatBuffer?
    public let inFeatures: Int
    public let outFeatures: Int
    public let layout: WeightLayout

    public init(weight: FloatBuffer, bias: FloatBuffer?, inFeatures: Int, outFeatures: Int, layout: WeightLayout) {
        precondition(weight.count == inFeatures * outFeatures)
        precondition(bias == nil || bias!.count == outFeatures)
        self.weight = weight
        self.bias = bias
        self.inFeatures = inFeatures
        self.outFeatures = outFeatures
        self.layout = layout
    }

    /// Loads `<prefix>.weight` (and `<prefix>.bias` when `hasBias`) checking shapes.
    /// GPT-2's Conv1D stores [in, out] (`.inputMajor`); torch.nn.Linear [out, in] (`.outputMajor`).
    public init(
        _ checkpoint: Checkpoint, _ prefix: String, inFeatures: Int, outFeatures: Int,
        layout: WeightLayout, hasBias: Bool = true
    ) throws {
        let shape = layout == .inputMajor ? [inFeatures, outFeatures] : [outFeatures, inFeatures]
        let weight = try checkpoint.require(prefix + ".weight").floats(expectedShape: shape)
        let bias = hasBias ? try checkpoint.require(prefix + ".bias").floats(expectedShape: [outFeatures]) : nil
        self.init(weight: weight, bias: bias, inFeatures: inFeatures, outFeatures: outFeatures, layout: layout)
    }

    /// out[rows, outFeatures] = input[rows, inFeatures]·W + b; with `accumulate`,
    /// out += input·W + b (a residual connection for free).
    public func callAsFunction(
        out: UnsafeMutablePointer<Float>, input: UnsafePointer<Float>, rows: Int, accumulate: Bool = false
    ) {
        matmul(out: out, input: input, weight: weight.pointer, rows: rows, inner: inFeatures, cols: outFeatures,
               layout: layout, accumulate: accumulate)
        if let bias { addBias(out, bias: bias.pointer, rows: rows, cols: outFeatures) }
    }
}
