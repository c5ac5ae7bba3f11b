import Tensor

/// Every tensor M2M100 reads, under the names of the checkpoint at hand: loading, `quantize`,
/// `convert` and `inspect` all read this table, so a tensor is added here, once.
///
///     model.shared.weight [vocab, d_model] (also stored as encoder/decoder embed_tokens, lm_head)
///     model.encoder.layers.N: self_attn.{q,k,v,out}_proj [d, d], self_attn_layer_norm,
///                             fc1 [ffn, d], fc2 [d, ffn], final_layer_norm     (nn.Linear: [out, in])
///     model.decoder.layers.N: the same, plus encoder_attn.{q,k,v,out}_proj and encoder_attn_layer_norm
///     model.{encoder,decoder}.layer_norm, lm_head.weight [vocab, d_model] (absent when tied)
///
/// transformers names the body `model.`; an `M2M100Model` save has no prefix.
public struct M2M100Tensors: CheckpointTensorTable {
    /// The four projections of one attention (`self_attn`, `encoder_attn`).
    public struct Attention: Sendable, Equatable {
        public let qProj: LinearTensors
        public let kProj: LinearTensors
        public let vProj: LinearTensors
        public let outProj: LinearTensors

        init(_ prefix: String, dModel: Int) {
            func projection(_ name: String) -> LinearTensors {
                LinearTensors("\(prefix).\(name)", inFeatures: dModel, outFeatures: dModel, layout: .outputMajor)
            }
            qProj = projection("q_proj")
            kProj = projection("k_proj")
            vProj = projection("v_proj")
            outProj = projection("out_proj")
        }

        var entries: [TensorTableEntry] { qProj.entries + kProj.entries + vProj.entries + outProj.entries }
    }

    /// One encoder or decoder layer; `encoderAttn` only in the decoder.
    public struct Layer: Sendable, Equatable {
        public let selfAttn: Attention
        public let selfAttnLayerNorm: LayerNormTensors
        public let encoderAttn: Attention?
        public let encoderAttnLayerNorm: LayerNormTensors?
        public let fc1: LinearTensors
        public let fc2: LinearTensors
        public let finalLayerNorm: LayerNormTensors

        init(_ prefix: String, dModel d: Int, ffnDim: Int, crossAttention: Bool) {
            selfAttn = Attention(prefix + ".self_attn", dModel: d)
            selfAttnLayerNorm = LayerNormTensors(prefix + ".self_attn_layer_norm", features: d)
            encoderAttn = crossAttention ? Attention(prefix + ".encoder_attn", dModel: d) : nil
            encoderAttnLayerNorm =
                crossAttention
                ? LayerNormTensors(prefix + ".encoder_attn_layer_norm", features: d) : nil
            fc1 = LinearTensors(prefix + ".fc1", inFeatures: d, outFeatures: ffnDim, layout: .outputMajor)
            fc2 = LinearTensors(prefix + ".fc2", inFeatures: ffnDim, outFeatures: d, layout: .outputMajor)
            finalLayerNorm = LayerNormTensors(prefix + ".final_layer_norm", features: d)
        }

        var entries: [TensorTableEntry] {
            let crossAttention = (encoderAttn?.entries ?? []) + (encoderAttnLayerNorm?.entries ?? [])
            return selfAttn.entries + selfAttnLayerNorm.entries + crossAttention + fc1.entries + fc2.entries
                + finalLayerNorm.entries
        }
    }

    /// "model." or "": the key layout of the checkpoint.
    public let keyPrefix: String
    /// The token embedding, under whichever of its tied names the checkpoint stores: save_pretrained
    /// keeps only `model.shared.weight`; older files also (or only) have the encoder's and
    /// decoder's `embed_tokens` and, when tied, `lm_head`.
    public let shared: EmbeddingTensors
    public let encoderLayers: [Layer]
    public let encoderLayerNorm: LayerNormTensors
    public let decoderLayers: [Layer]
    public let decoderLayerNorm: LayerNormTensors
    public let output: OutputLayerTensors

    /// The table for `config` under `checkpoint`'s key layout.
    public init(config: M2M100Config, checkpoint: Checkpoint) {
        self.init(config: config, keyPrefix: checkpoint.info("model.encoder.layer_norm.weight") != nil ? "model." : "")
    }

    /// The table for `config` with the body's names prefixed by `keyPrefix`.
    public init(config: M2M100Config, keyPrefix: String) {
        let d = config.dModel
        self.keyPrefix = keyPrefix
        var sharedNames = [
            keyPrefix + "shared.weight", keyPrefix + "encoder.embed_tokens.weight",
            keyPrefix + "decoder.embed_tokens.weight",
        ]
        if config.tieWordEmbeddings { sharedNames.append("lm_head.weight") }
        shared = EmbeddingTensors(names: sharedNames, count: config.vocabSize, dimension: d)
        encoderLayers = (0..<config.encoderLayers).map {
            Layer("\(keyPrefix)encoder.layers.\($0)", dModel: d, ffnDim: config.encoderFFNDim, crossAttention: false)
        }
        encoderLayerNorm = LayerNormTensors(keyPrefix + "encoder.layer_norm", features: d)
        decoderLayers = (0..<config.decoderLayers).map {
            Layer("\(keyPrefix)decoder.layers.\($0)", dModel: d, ffnDim: config.decoderFFNDim, crossAttention: true)
        }
        decoderLayerNorm = LayerNormTensors(keyPrefix + "decoder.layer_norm", features: d)
        // A tied head's fallback leaves out `lm_head.weight` itself, which is this entry's own name.
        output = OutputLayerTensors(
            embedding: EmbeddingTensors(names: Array(sharedNames.prefix(3)), count: config.vocabSize, dimension: d),
            isTied: config.tieWordEmbeddings)
    }

    public var entries: [TensorTableEntry] {
        shared.entries + encoderLayers.flatMap(\.entries) + encoderLayerNorm.entries
            + decoderLayers.flatMap(\.entries) + decoderLayerNorm.entries + output.entries
    }
}
