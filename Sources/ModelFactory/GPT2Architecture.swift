import Foundation
import GPT2
import Generation
import Tensor
import Tokenizer

/// GPT-2 (`model_type` "gpt2"): text generation.
public struct GPT2Architecture: ModelArchitecture {
    public init() {}

    public var modelType: String { "gpt2" }
    public var displayName: String { "GPT-2" }
    public var capability: ModelCapability { .causalGeneration }

    public func readConfig(directory: URL) throws -> ModelConfigSummary {
        let config = try GPT2Config.load(directory: directory)
        return ModelConfigSummary(
            modelType: config.modelType,
            fields: [
                "n_layer": "\(config.nLayer)", "n_head": "\(config.nHead)", "n_embd": "\(config.nEmbd)",
                "n_positions": "\(config.nPositions)", "vocab_size": "\(config.vocabSize)",
                "n_inner": "\(config.innerDim)",
                "activation_function": config.activationFunction, "layer_norm_epsilon": "\(config.layerNormEpsilon)",
                "tie_word_embeddings": "\(config.tieWordEmbeddings)",
            ],
            contextLength: config.nPositions,
            kvCacheBytesPerSequence: 2 * config.nLayer * config.nPositions * config.nEmbd * 4)
    }

    public func tensorTable(directory: URL, checkpoint: Checkpoint) throws -> any CheckpointTensorTable {
        GPT2Tensors(config: try GPT2Config.load(directory: directory), checkpoint: checkpoint)
    }

    public func loadTokenizer(directory: URL) throws -> any Tokenizer {
        try ByteLevelBPETokenizer.load(directory: directory)
    }

    public func load(directory: URL, options: ModelLoadOptions) throws -> LoadedModel {
        .causalGeneration(
            try GPT2Pipeline(
                directory: directory, precision: options.precision,
                cachePrecision: options.cachePrecision))
    }
}
