import Tensor

/// Causal self-attention: c_attn projects to q, k, v; c_proj mixes the heads back.
struct GPT2Attention {
    /// "c_attn": [n_embd, 3·n_embd], Conv1D.
    let cAttn: Linear
    /// "c_proj": [n_embd, n_embd], Conv1D.
    let cProj: Linear

    init(_ checkpoint: Checkpoint, _ tensors: GPT2Tensors.Block, precision: WeightPrecision) throws {
        cAttn = try Linear(checkpoint, tensors.cAttn, precision: precision)
        cProj = try Linear(checkpoint, tensors.attnCProj, precision: precision)
    }
}

/// The feed-forward network: c_fc, activation, c_proj.
struct GPT2MLP {
    /// "c_fc": [n_embd, n_inner], Conv1D.
    let cFc: Linear
    /// "c_proj": [n_inner, n_embd], Conv1D.
    let cProj: Linear

    init(_ checkpoint: Checkpoint, _ tensors: GPT2Tensors.Block, precision: WeightPrecision) throws {
        cFc = try Linear(checkpoint, tensors.cFc, precision: precision)
        cProj = try Linear(checkpoint, tensors.mlpCProj, precision: precision)
    }
}

/// One pre-norm transformer block (`h.N`):
///
///     x = x + attn(ln_1(x))
///     x = x + mlp(ln_2(x))
struct GPT2Block {
    let ln1: LayerNormLayer
    let attn: GPT2Attention
    let ln2: LayerNormLayer
    let mlp: GPT2MLP
    /// Multiplies q·k: 1/√head_dim, and 1/(layer+1) with scale_attn_by_inverse_layer_idx.
    let attentionScale: Float

    init(
        _ checkpoint: Checkpoint, _ tensors: GPT2Tensors.Block, layer: Int, _ config: GPT2Config,
        precision: WeightPrecision
    ) throws {
        ln1 = try LayerNormLayer(checkpoint, tensors.ln1, epsilon: config.layerNormEpsilon)
        attn = try GPT2Attention(checkpoint, tensors, precision: precision)
        ln2 = try LayerNormLayer(checkpoint, tensors.ln2, epsilon: config.layerNormEpsilon)
        mlp = try GPT2MLP(checkpoint, tensors, precision: precision)
        var scale: Float = 1
        if config.scaleAttnWeights { scale /= Float(config.headDim).squareRoot() }
        if config.scaleAttnByInverseLayerIdx { scale /= Float(layer + 1) }
        attentionScale = scale
    }
}
