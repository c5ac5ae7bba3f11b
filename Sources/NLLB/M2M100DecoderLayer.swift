import Tensor

/// One pre-norm decoder layer (`model.decoder.layers.N`):
///
///     x = x + out_proj(attend(self_attn_layer_norm(x)))      causal, over the target cache
///     x = x + out_proj(attend(encoder_attn_layer_norm(x)))   over the source's keys/values
///     x = x + fc2(act(fc1(final_layer_norm(x))))
struct M2M100DecoderLayer {
    let selfAttn: M2M100Attention
    let selfAttnLayerNorm: LayerNormLayer
    let encoderAttn: M2M100Attention
    let encoderAttnLayerNorm: LayerNormLayer
    /// "fc1": [decoder_ffn_dim, d_model]; "fc2": [d_model, decoder_ffn_dim].
    let fc1: Linear
    let fc2: Linear
    let finalLayerNorm: LayerNormLayer

    init(_ checkpoint: Checkpoint, _ prefix: String, _ config: M2M100Config, precision: WeightPrecision) throws {
        let d = config.dModel, eps = M2M100Config.layerNormEpsilon
        selfAttn = try M2M100Attention(checkpoint, prefix + ".self_attn", dModel: d, heads: config.decoderAttentionHeads, precision: precision)
        selfAttnLayerNorm = try LayerNormLayer(checkpoint, prefix + ".self_attn_layer_norm", features: d, epsilon: eps)
        encoderAttn = try M2M100Attention(checkpoint, prefix + ".encoder_attn", dModel: d, heads: config.decoderAttentionHeads, precision: precision)
        encoderAttnLayerNorm = try LayerNormLayer(checkpoint, prefix + ".encoder_attn_layer_norm", features: d, epsilon: eps)
        fc1 = try Linear(checkpoint, prefix + ".fc1", inFeatures: d, outFeatures: config.decoderFFNDim, layout: .outputMajor, precision: precision)
        fc2 = try Linear(checkpoint, prefix + ".fc2", inFeatures: config.decoderFFNDim, outFeatures: d, layout: .outputMajor, precision: precision)
        finalLayerNorm = try LayerNormLayer(checkpoint, prefix + ".final_layer_norm", features: d, epsilon: eps)
    }
}
