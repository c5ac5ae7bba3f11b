import Kernels

/// `torch.nn.LayerNorm` over the last dimension, with its weight and bias.
public struct LayerNormLayer: Sendable {
    public let weight: FloatBuffer
    public let bias: FloatBuffer
    public let epsilon: Float

    public init(_ checkpoint: Checkpoint, _ prefix: String, features: Int, epsilon: Float) throws {
        weight = try checkpoint.require(prefix + ".weight").floats(expectedShape: [features])
        bias = try checkpoint.require(prefix + ".bias").floats(expectedShape: [features])
        self.epsilon = epsilon
    }

    public var features: Int { weight.count }

    /// out[rows, features] = LayerNorm(input[rows, features]); `out` may alias `input`.
    public func callAsFunction(out: UnsafeMutablePointer<Float>, input: UnsafePointer<Float>, rows: Int) {
        layerNorm(
            out: out, input: input, weight: weight.pointer, bias: bias.pointer, rows: rows, cols: features,
            epsilon: epsilon)
    }
}
