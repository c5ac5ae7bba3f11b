import Tensor

/// The matrices of one block, by checkpoint key suffix, as `octavo-infer quantize` lists them.
let gpt2BlockLinears = ["attn.c_attn", "attn.c_proj", "mlp.c_fc", "mlp.c_proj"]

/// Causal self-attention: c_attn projects to q, k, v; c_proj mixes the heads back.
struct GPT2Attention {
    /// "c_attn": [n_embd, 3·n_embd], Conv1D.
    let cAttn: Linear
    /// "c_proj": [n_embd, n_embd], Conv1D.
    let cProj: Linear

    init(_ checkpoint: Checkpoint, _ prefix: String, _ config: GPT2Config, precision: WeightPrecision) throws {
        cAttn = try Linear(checkpoint, prefix + ".c_attn", inFeatures: config.nEmbd, outFeatures: 3 * config.nEmbd, layout: .inputMajor, precision: precision)
        cProj = try Linear(checkpoint, prefix + ".c_proj", inFeatures: config.nEmbd, outFeatures: config.nEmbd, layout: .inputMajor, precision: precision)
    }
}

/// The feed-forward network: c_fc, activation, c_proj.
struct GPT2MLP {
    /// "c_fc": [n_embd, n_inner], Conv1D.
    let cFc: Linear
    /// "c_proj": [n_inner, n_embd], Conv1D.
    let cProj: Linear

    init(_ checkpoint: Checkpoint, _ prefix: String, _ config: GPT2Config, precision: WeightPrecision) throws {
        cFc = try Linear(checkpoint, prefix + ".c_fc", inFeatures: config.nEmbd, outFeatures: config.innerDim, layout: .inputMajor, precision: precision)
        cProj = try Linear(checkpoint, prefix + ".c_proj", inFeatures: config.innerDim, outFeatures: config.nEmbd, layout: .inputMajor, precision: precision)
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

    init(_ checkpoint: Checkpoint, _ prefix: String, layer: Int, _ config: GPT2Config, precision: WeightPrecision) throws {
        ln1 = try LayerNormLayer(checkpoint, prefix + ".ln_1", features: config.nEmbd, epsilon: config.layerNormEpsilon)
        attn = try GPT2Attention(checkpoint, prefix + ".attn", config, precision: precision)
        ln2 = try LayerNormLayer(checkpoint, prefix + ".ln_2", features: config.nEmbd, epsilon: config.layerNormEpsilon)
        mlp = try GPT2MLP(checkpoint, prefix + ".mlp", config, precision: precision)
        var scale: Float = 1
        if config.scaleAttnWeights { scale /= Float(config.headDim).squareRoot() }
        if config.scaleAttnByInverseLayerIdx { scale /= Float(layer + 1) }
        attentionScale = scale
    }
}
