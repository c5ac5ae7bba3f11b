import Kernels
import Tensor

/// `model.encoder`: embeddings, pre-norm self-attention layers, a final layer norm.
///
/// Sources of different lengths run together, packed row after row with no
/// padding: every weight matrix sees all rows at once, and each row attends only
/// to its own source's rows. That is what transformers computes for a right-padded
/// batch with an attention mask (masked keys get exactly zero weight), without the
/// pad rows.
struct M2M100Encoder {
    let embedding: M2M100InputEmbedding
    /// "model.encoder.layers.0" ... ".{encoder_layers-1}".
    let layers: [M2M100EncoderLayer]
    /// "model.encoder.layer_norm".
    let layerNorm: LayerNormLayer
    let activation: Activation
    let ffnDim: Int

    init(
        _ checkpoint: Checkpoint, _ tensors: M2M100Tensors, _ config: M2M100Config, embedding: M2M100InputEmbedding,
        precision: WeightPrecision
    ) throws {
        self.embedding = embedding
        layers = try tensors.encoderLayers.map { try M2M100EncoderLayer(checkpoint, $0, config, precision: precision) }
        layerNorm = try LayerNormLayer(checkpoint, tensors.encoderLayerNorm, epsilon: M2M100Config.layerNormEpsilon)
        activation = config.activation!
        ffnDim = config.encoderFFNDim
    }

    /// Encodes the sources (already validated), leaving `last_hidden_state` as
    /// rows in `ws.x`: source s occupies the rows from the sum of the earlier lengths.
    func forward(_ sources: [[Int]], rows: Int, workspace ws: M2M100Workspace) {
        let c = embedding.dimension
        let x = ws.x.mutablePointer
        let normed = ws.normed.mutablePointer
        let hidden = ws.hidden.mutablePointer
        let q = ws.q.mutablePointer
        let k = ws.k.mutablePointer
        let v = ws.v.mutablePointer
        let attended = ws.attended.mutablePointer

        // Embeddings: x[r] = embed_tokens[token]·embed_scale + positions[id]        [rows, C]
        var r = 0
        for source in sources {
            var nonPad = 0
            for token in source {
                if token != embedding.padTokenID { nonPad += 1 }
                embedding(
                    out: x + r * c, token: token, positionID: embedding.positionID(token: token, nonPadCount: nonPad))
                r += 1
            }
        }

        for layer in layers {
            // Self-attention: x += out_proj(attend(q, k, v)), each source over its own rows
            let attention = layer.selfAttn
            layer.selfAttnLayerNorm(out: normed, input: x, rows: rows)
            attention.qProj(out: q, input: normed, rows: rows)  // [rows, C]
            attention.kProj(out: k, input: normed, rows: rows)
            attention.vProj(out: v, input: normed, rows: rows)
            var start = 0
            for source in sources {
                let length = source.count
                let keys = k + start * c
                let values = v + start * c
                let first = start
                ComputePool.shared.forEachRowAndHead(
                    rows: length, heads: attention.heads, multiplyAdds: 2 * length * length * c
                ) { i, h, t in
                    let row = first + i
                    attentionOverRows(
                        out: attended + row * c, query: q + row * c, keys: keys, values: values,
                        length: length, heads: h..<(h + 1), headDim: attention.headDim, rowStride: c,
                        scale: attention.scale, scores: ws.scores.mutablePointer + t * ws.scoresPerThread)
                }
                start += length
            }  // [rows, C]
            attention.outProj(out: x, input: attended, rows: rows, accumulate: true)

            // Feed-forward: x += fc2(act(fc1(final_layer_norm(x))))
            layer.finalLayerNorm(out: normed, input: x, rows: rows)
            layer.fc1(out: hidden, input: normed, rows: rows)  // [rows, ffn]
            activation.apply(hidden, count: rows * ffnDim)
            layer.fc2(out: x, input: hidden, rows: rows, accumulate: true)  // [rows, C]
        }
        layerNorm(out: x, input: x, rows: rows)  // last_hidden_state
    }
}
