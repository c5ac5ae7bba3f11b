import Kernels

/// A model's output layer, logits = hidden · Wᵀ [rows, vocab], built the one way both models
/// need: the tied embedding's own floats (converted to the model's precision when not f32), or a
/// separate `lm_head`, or the quantized head a file written by `octavo-infer quantize` stores
/// (explicitly, even when tied). It can also score only some tokens (`RestrictedOutputLayer`).
///
/// One caller at a time: restricted copies are cached for the next calls.
///
/// Sendable by hand: immutable after init except that cache, used by the one thread that drives the model.
public final class OutputLayer: @unchecked Sendable {
    /// The full layer [vocab, width].
    public let linear: Linear
    /// Whether `linear` reads the embedding's fp32 table itself (no bytes of its own).
    public let borrowsEmbedding: Bool
    /// The latest restricted copies, most recent last.
    private var restrictedCopies: [RestrictedOutputLayer] = []
    /// A server batch mixes the vocabularies of a few requests; one translation asks for one.
    private static let restrictedCopiesKept = 8

    /// Loads the layer `tensors` describes; `embedding` is the model's loaded token embedding.
    public init(
        _ checkpoint: Checkpoint, _ tensors: OutputLayerTensors, embedding: Embedding,
        precision: WeightPrecision
    ) throws {
        let storedHead = checkpoint.info(tensors.head.weight)
        let headIsQuantized =
            storedHead.map {
                $0.dtype == .i8 || checkpoint.metadata(of: tensors.head.weight)[QuantizedTensors.layoutKey] != nil
            } ?? false
        if tensors.isTied && !headIsQuantized {
            linear = Linear(
                weight: embedding.table, bias: nil, inFeatures: embedding.dimension, outFeatures: embedding.count,
                layout: .outputMajor, precision: precision)
        } else {
            linear = try Linear(checkpoint, tensors.head, precision: precision)
        }
        borrowsEmbedding = linear.weights.isFloat32Borrowing(embedding.table)
    }

    public var outFeatures: Int { linear.outFeatures }

    /// Bytes of weights the layer holds besides the embedding (0 when it reads the embedding).
    public var ownWeightBytes: Int { borrowsEmbedding ? 0 : linear.weightBytes }

    /// out[rows, vocab] = input[rows, width] · Wᵀ.
    @inline(__always)
    public func callAsFunction(out: UnsafeMutablePointer<Float>, input: UnsafePointer<Float>, rows: Int) {
        linear(out: out, input: input, rows: rows)
    }

    /// out[rows, vocab]: only `outputs` (ascending token ids) scored, -infinity elsewhere. The
    /// selected rows are copied at the first call and kept for later calls asking for the same
    /// outputs (every step of one translation does), up to a few vocabularies at once.
    /// - Throws: `TensorError.invalidOutputs` for outputs not ascending or outside the vocabulary.
    public func callAsFunction(
        out: UnsafeMutablePointer<Float>, input: UnsafePointer<Float>, rows: Int,
        restrictedTo outputs: [Int]
    ) throws {
        let restricted: RestrictedOutputLayer
        if let kept = restrictedCopies.last(where: { $0.outputs == outputs }) {
            restricted = kept
        } else {
            restricted = try RestrictedOutputLayer(linear, outputs: outputs)
            if restrictedCopies.count == Self.restrictedCopiesKept { restrictedCopies.removeFirst() }
            restrictedCopies.append(restricted)
        }
        restricted(out: out, input: input, rows: rows)
    }
}
