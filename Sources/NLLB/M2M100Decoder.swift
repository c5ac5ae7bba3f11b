import Generation
import Kernels
import Tensor

/// `model.decoder`, one token per target sequence per step (or a few, at consecutive offsets, for a
/// speculative verify): embeddings, pre-norm
/// layers of causal self-attention over the target's cache, cross-attention over
/// its source's keys/values, and feed-forward, then a final layer norm.
struct M2M100Decoder {
    let embedding: M2M100InputEmbedding
    /// "model.decoder.layers.0" ... ".{decoder_layers-1}".
    let layers: [M2M100DecoderLayer]
    /// "model.decoder.layer_norm".
    let layerNorm: LayerNormLayer
    let activation: Activation
    let ffnDim: Int

    init(
        _ checkpoint: Checkpoint, _ tensors: M2M100Tensors, _ config: M2M100Config, embedding: M2M100InputEmbedding,
        precision: WeightPrecision
    ) throws {
        self.embedding = embedding
        layers = try tensors.decoderLayers.map { try M2M100DecoderLayer(checkpoint, $0, config, precision: precision) }
        layerNorm = try LayerNormLayer(checkpoint, tensors.decoderLayerNorm, epsilon: M2M100Config.layerNormEpsilon)
        activation = config.activation!
        ffnDim = config.decoderFFNDim
    }

    /// Appends each step's token to its target cache (steps already validated) and
    /// leaves the final-normed hidden state of each step as rows in `ws.normed`.
    func step(_ steps: [Seq2SeqStep], workspace ws: M2M100Workspace) {
        let rows = steps.count
        let c = embedding.dimension
        let x = ws.x.mutablePointer
        let normed = ws.normed.mutablePointer
        let hidden = ws.hidden.mutablePointer
        let q = ws.q.mutablePointer
        let k = ws.k.mutablePointer
        let v = ws.v.mutablePointer
        let attended = ws.attended.mutablePointer
        let scores = ws.scores.mutablePointer
        let scoresPerThread = ws.scoresPerThread
        let pool = ComputePool.shared

        // Embeddings: x[r] = embed_tokens[token]·embed_scale + positions[id]        [rows, C]
        // One new token after `length + offset` earlier ones: its position id counts it after all of them.
        for (r, step) in steps.enumerated() {
            let id = embedding.positionID(token: step.token, nonPadCount: step.target.length + step.offset + 1)
            embedding(out: x + r * c, token: step.token, positionID: id)
        }

        for (l, layer) in layers.enumerated() {
            // Self-attention: x += out_proj(attend(q, cached k/v)), causal by construction
            let selfAttention = layer.selfAttn
            layer.selfAttnLayerNorm(out: normed, input: x, rows: rows)
            selfAttention.qProj(out: q, input: normed, rows: rows)  // [rows, C]
            selfAttention.kProj(out: k, input: normed, rows: rows)
            selfAttention.vProj(out: v, input: normed, rows: rows)
            var selfMultiplyAdds = 0
            for (r, step) in steps.enumerated() {
                step.target.store(
                    layer: l, position: step.target.length + step.offset, key: k + r * c, value: v + r * c)
                selfMultiplyAdds += 2 * (step.target.length + step.offset + 1) * c
            }
            pool.forEachRowAndHead(rows: rows, heads: selfAttention.heads, multiplyAdds: selfMultiplyAdds) { r, h, t in
                let cache = steps[r].target
                cache.attend(
                    layer: l, out: attended + r * c, query: q + r * c, length: cache.length + steps[r].offset + 1,
                    heads: h..<(h + 1), scale: selfAttention.scale, scores: scores + t * scoresPerThread)
            }  // [rows, C]
            selfAttention.outProj(out: x, input: attended, rows: rows, accumulate: true)

            // Cross-attention: x += out_proj(attend(q, source k/v computed once at encode))
            let crossAttention = layer.encoderAttn
            layer.encoderAttnLayerNorm(out: normed, input: x, rows: rows)
            crossAttention.qProj(out: q, input: normed, rows: rows)  // [rows, C]
            let crossMultiplyAdds = steps.reduce(0) { $0 + 2 * $1.source.tokenCount * c }
            pool.forEachRowAndHead(rows: rows, heads: crossAttention.heads, multiplyAdds: crossMultiplyAdds) {
                r, h, t in
                let source = steps[r].source
                let memory = source.crossAttention
                memory.attend(
                    layer: l, out: attended + r * c, query: q + r * c, length: source.tokenCount,
                    heads: h..<(h + 1), scale: crossAttention.scale, scores: scores + t * scoresPerThread)
            }  // [rows, C]
            crossAttention.outProj(out: x, input: attended, rows: rows, accumulate: true)

            // Feed-forward: x += fc2(act(fc1(final_layer_norm(x))))
            layer.finalLayerNorm(out: normed, input: x, rows: rows)
            layer.fc1(out: hidden, input: normed, rows: rows)  // [rows, ffn]
            activation.apply(hidden, count: rows * ffnDim)
            layer.fc2(out: x, input: hidden, rows: rows, accumulate: true)  // [rows, C]
        }
        for step in steps { step.target.advance(by: 1) }
        layerNorm(out: normed, input: x, rows: rows)  // [rows, C]
    }
}
