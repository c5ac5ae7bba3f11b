import Foundation
import Generation
import NLLB
import Tensor
import Tokenizer

/// M2M100, NLLB-200's architecture (`model_type` "m2m_100"): translation.
public struct M2M100Architecture: ModelArchitecture {
    public init() {}

    public var modelType: String { "m2m_100" }
    public var displayName: String { "NLLB-200 / M2M100" }
    public var capability: ModelCapability { .translation }

    public func readConfig(directory: URL) throws -> ModelConfigSummary {
        let config = try M2M100Config.load(directory: directory)
        return ModelConfigSummary(
            modelType: config.modelType,
            fields: [
                "encoder_layers": "\(config.encoderLayers)", "decoder_layers": "\(config.decoderLayers)",
                "d_model": "\(config.dModel)", "encoder_attention_heads": "\(config.encoderAttentionHeads)",
                "decoder_attention_heads": "\(config.decoderAttentionHeads)",
                "encoder_ffn_dim": "\(config.encoderFFNDim)",
                "decoder_ffn_dim": "\(config.decoderFFNDim)",
                "max_position_embeddings": "\(config.maxPositionEmbeddings)",
                "vocab_size": "\(config.vocabSize)", "activation_function": config.activationFunction,
                "scale_embedding": "\(config.scaleEmbedding)", "tie_word_embeddings": "\(config.tieWordEmbeddings)",
            ],
            contextLength: config.maxPositionEmbeddings,
            // Self-attention and cross-attention keys and values per decoder layer.
            kvCacheBytesPerSequence: 4 * config.decoderLayers * config.maxPositionEmbeddings * config.dModel * 4)
    }

    public func tensorTable(directory: URL, checkpoint: Checkpoint) throws -> any CheckpointTensorTable {
        M2M100Tensors(config: try M2M100Config.load(directory: directory), checkpoint: checkpoint)
    }

    public func loadTokenizer(directory: URL) throws -> any Tokenizer {
        try NLLBTokenizer(folder: directory)
    }

    public func load(directory: URL, options: ModelLoadOptions) throws -> LoadedModel {
        .translation(
            try NLLBPipeline(
                directory: directory, precision: options.precision,
                cachePrecision: options.cachePrecision, vocabularyMap: options.vocabularyMap))
    }
}
