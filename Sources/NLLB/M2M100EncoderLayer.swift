import Tensor

/// One pre-norm encoder layer (`model.encoder.layers.N`):
///
///     x = x + out_proj(attend(self_attn_layer_norm(x)))      over the source's own rows
///     x = x + fc2(act(fc1(final_layer_norm(x))))
struct M2M100EncoderLayer {
    let selfAttn: M2M100Attention
    let selfAttnLayerNorm: LayerNormLayer
    /// "fc1": [encoder_ffn_dim, d_model]; "fc2": [d_model, encoder_ffn_dim].
    let fc1: Linear
    let fc2: Linear
    let finalLayerNorm: LayerNormLayer

    init(
        _ checkpoint: Checkpoint, _ tensors: M2M100Tensors.Layer, _ config: M2M100Config,
        precision: WeightPrecision
    ) throws {
        let eps = M2M100Config.layerNormEpsilon
        let heads = config.encoderAttentionHeads
        selfAttn = try M2M100Attention(checkpoint, tensors.selfAttn, heads: heads, precision: precision)
        selfAttnLayerNorm = try LayerNormLayer(checkpoint, tensors.selfAttnLayerNorm, epsilon: eps)
        fc1 = try Linear(checkpoint, tensors.fc1, precision: precision)
        fc2 = try Linear(checkpoint, tensors.fc2, precision: precision)
        finalLayerNorm = try LayerNormLayer(checkpoint, tensors.finalLayerNorm, epsilon: eps)
    }
}
