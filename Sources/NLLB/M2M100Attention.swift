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

    init(_ checkpoint: Checkpoint, _ tensors: M2M100Tensors.Attention, heads: Int, precision: WeightPrecision) throws {
        qProj = try Linear(checkpoint, tensors.qProj, precision: precision)
        kProj = try Linear(checkpoint, tensors.kProj, precision: precision)
        vProj = try Linear(checkpoint, tensors.vProj, precision: precision)
        outProj = try Linear(checkpoint, tensors.outProj, precision: precision)
        self.heads = heads
        headDim = tensors.qProj.outFeatures / heads
        scale = Float(1 / Double(headDim).squareRoot())
    }
}
