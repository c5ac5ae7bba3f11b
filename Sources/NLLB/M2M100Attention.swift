import Tensor

/// Multi-head attention's four projections (`M2M100Attention`), all nn.Linear with bias.
/// Self-attention projects q, k, v from the same rows; cross-attention projects
/// k, v from the encoder output (once per source) and q from the decoder.
struct M2M100Attention {
    /// "q_proj", "k_proj", "v_proj", "out_proj": [d_model, d_model] each.
    let qProj: Linear
    let kProj: Linear
    let vProj: Linear
    let outProj: Linear
    let heads: Int
    let headDim: Int
    /// head_dim^-0.5, applied to q·k as eager_attention_forward does.
    let scale: Float

    init(_ checkpoint: Checkpoint, _ prefix: String, dModel: Int, heads: Int, precision: WeightPrecision) throws {
        func linear(_ name: String) throws -> Linear {
            try Linear(checkpoint, "\(prefix).\(name)", inFeatures: dModel, outFeatures: dModel, layout: .outputMajor, precision: precision)
        }
        qProj = try linear("q_proj")
        kProj = try linear("k_proj")
        vProj = try linear("v_proj")
        outProj = try linear("out_proj")
        self.heads = heads
        headDim = dModel / heads
        scale = Float(1 / Double(headDim).squareRoot())
    }
}
