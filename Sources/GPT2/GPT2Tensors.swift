import Tensor

/// Every tensor GPT-2 reads, under the names of the checkpoint at hand: loading, `quantize`,
/// `convert` and `inspect` all read this table, so a tensor is added here, once.
///
///     wte.weight [vocab, C], wpe.weight [n_positions, C]
///     h.N.ln_1, h.N.attn.c_attn [C, 3C], h.N.attn.c_proj [C, C], h.N.ln_2,
///     h.N.mlp.c_fc [C, n_inner], h.N.mlp.c_proj [n_inner, C]      (Conv1D: [in, out])
///     ln_f, lm_head.weight [vocab, C] (absent when tied to wte)
///
/// transformers' save_pretrained prefixes the body with `transformer.`; the original
/// openai-community files do not, and also carry attention-mask buffers the model never reads.
public struct GPT2Tensors: CheckpointTensorTable {
    /// One block's tensors (`h.N`).
    public struct Block: Sendable, Equatable {
        public let ln1: LayerNormTensors
        public let cAttn: LinearTensors
        public let attnCProj: LinearTensors
        public let ln2: LayerNormTensors
        public let cFc: LinearTensors
        public let mlpCProj: LinearTensors
        /// `attn.bias` and `attn.masked_bias`: causal-mask buffers of the openai-community files.
        public let maskBuffers: [String]
    }

    /// "transformer." or "": the key layout of the checkpoint.
    public let keyPrefix: String
    public let wte: EmbeddingTensors
    public let wpe: EmbeddingTensors
    public let blocks: [Block]
    public let lnF: LayerNormTensors
    public let output: OutputLayerTensors

    /// The table for `config` under `checkpoint`'s key layout.
    public init(config: GPT2Config, checkpoint: Checkpoint) {
        self.init(config: config, keyPrefix: checkpoint.info("transformer.wte.weight") != nil ? "transformer." : "")
    }

    /// The table for `config` with the body's names prefixed by `keyPrefix`.
    public init(config: GPT2Config, keyPrefix: String) {
        let c = config.nEmbd
        let inner = config.innerDim
        self.keyPrefix = keyPrefix
        wte = EmbeddingTensors(names: [keyPrefix + "wte.weight"], count: config.vocabSize, dimension: c)
        wpe = EmbeddingTensors(names: [keyPrefix + "wpe.weight"], count: config.nPositions, dimension: c)
        blocks = (0..<config.nLayer).map { layer in
            let h = "\(keyPrefix)h.\(layer)"
            return Block(
                ln1: LayerNormTensors(h + ".ln_1", features: c),
                cAttn: LinearTensors(h + ".attn.c_attn", inFeatures: c, outFeatures: 3 * c, layout: .inputMajor),
                attnCProj: LinearTensors(h + ".attn.c_proj", inFeatures: c, outFeatures: c, layout: .inputMajor),
                ln2: LayerNormTensors(h + ".ln_2", features: c),
                cFc: LinearTensors(h + ".mlp.c_fc", inFeatures: c, outFeatures: inner, layout: .inputMajor),
                mlpCProj: LinearTensors(h + ".mlp.c_proj", inFeatures: inner, outFeatures: c, layout: .inputMajor),
                maskBuffers: [h + ".attn.bias", h + ".attn.masked_bias"])
        }
        lnF = LayerNormTensors(keyPrefix + "ln_f", features: c)
        output = OutputLayerTensors(embedding: wte, isTied: config.tieWordEmbeddings)
    }

    public var entries: [TensorTableEntry] {
        var entries = wte.entries + wpe.entries
        for block in blocks {
            entries += block.ln1.entries + block.cAttn.entries + block.attnCProj.entries
            entries += block.ln2.entries + block.cFc.entries + block.mlpCProj.entries
            entries += block.maskBuffers.map {
                TensorTableEntry(names: [$0], shape: nil, kind: .buffer, isRequired: false)
            }
        }
        return entries + lnF.entries + output.entries
    }
}
