import Kernels

/// An output layer that scores only some of its outputs, as CTranslate2's vocabulary
/// restriction does: the selected weight rows are copied once, each call computes just those,
/// and every other output gets -infinity, so whatever picks tokens from the row (argmax,
/// sampling, beam search's log-softmax) never picks them. For NLLB-600M at batch 1 the full
/// output layer is 256206 rows, about 60% of the bytes a decoder step reads in fp32; a few
/// thousand candidates read a few MB.
///
/// Sendable by hand: immutable after init except its scratch, used by the one thread that drives the model.
public final class RestrictedOutputLayer: @unchecked Sendable {
    /// The outputs scored, ascending.
    public let outputs: [Int]
    /// Width of a full output row (the layer's `outFeatures`).
    public let width: Int
    private let selected: Linear
    /// [rows, outputs.count] of the last call, grown when a call has more rows.
    private var scores: FloatBuffer

    /// Copies the rows of `layer` for `outputs` (ascending, no repeats, each below `layer.outFeatures`).
    /// - Throws: `TensorError.invalidOutputs` otherwise.
    public init(_ layer: Linear, outputs: [Int]) throws {
        guard zip(outputs, outputs.dropFirst()).allSatisfy({ $0 < $1 }) else {
            throw TensorError.invalidOutputs(reason: "outputs must be ascending without repeats")
        }
        self.outputs = outputs
        width = layer.outFeatures
        selected = try layer.selectingOutputs(outputs)
        scores = FloatBuffer(count: outputs.count)
    }

    /// out[rows, width]: the selected outputs as the full layer computes them, -infinity elsewhere.
    public func callAsFunction(
        out: UnsafeMutablePointer<Float>, input: UnsafePointer<Float>, rows: Int, pool: ComputePool = .shared
    ) {
        let n = outputs.count
        if scores.count < rows * n { scores = FloatBuffer(count: rows * n) }
        let computed = scores.mutablePointer
        selected(out: computed, input: input, rows: rows, pool: pool)
        outputs.withUnsafeBufferPointer { outputs in
            pool.parallelFor(rows) { range in
                for r in range {
                    let row = out + r * width
                    let values = computed + r * n
                    var next = 0  // the first output not yet written
                    for j in 0..<n {
                        let o = outputs[j]
                        (row + next).update(repeating: -.infinity, count: o - next)
                        row[o] = values[j]
                        next = o + 1
                    }
                    (row + next).update(repeating: -.infinity, count: width - next)
                }
            }
        }
    }

    /// Bytes of the copied weights.
    public var weightBytes: Int { selected.weightBytes }
}
