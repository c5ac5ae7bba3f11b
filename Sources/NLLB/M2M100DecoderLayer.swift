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

    init(
        _ checkpoint: Checkpoint, _ tensors: M2M100Tensors.Layer, _ config: M2M100Config,
        precision: WeightPrecision
    ) throws {
        guard let crossTensors = tensors.encoderAttn, let crossNormTensors = tensors.encoderAttnLayerNorm else {
            preconditionFailure("M2M100Tensors lists cross-attention for every decoder layer")
        }
        let eps = M2M100Config.layerNormEpsilon
        let heads = config.decoderAttentionHeads
        selfAttn = try M2M100Attention(checkpoint, tensors.selfAttn, heads: heads, precision: precision)
        selfAttnLayerNorm = try LayerNormLayer(checkpoint, tensors.selfAttnLayerNorm, epsilon: eps)
        encoderAttn = try M2M100Attention(checkpoint, crossTensors, heads: heads, precision: precision)
        encoderAttnLayerNorm = try LayerNormLayer(checkpoint, crossNormTensors, epsilon: eps)
        fc1 = try Linear(checkpoint, tensors.fc1, precision: precision)
        fc2 = try Linear(checkpoint, tensors.fc2, precision: precision)
        finalLayerNorm = try LayerNormLayer(checkpoint, tensors.finalLayerNorm, epsilon: eps)
    }
}
