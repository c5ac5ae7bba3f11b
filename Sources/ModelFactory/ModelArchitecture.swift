import Foundation
import Generation
import NLLB
import Tensor
import Tokenizer

/// What one architecture (one config.json `model_type`) gives the rest of the program: its
/// config reader, its tensor table, its tokenizer, its loader, and what the server can do with
/// it. `ArchitectureRegistry.standard` lists them; nothing else switches on `model_type`.
public protocol ModelArchitecture: Sendable {
    /// config.json's `model_type` (`gpt2`, `m2m_100`).
    var modelType: String { get }
    /// For messages: "GPT-2", "NLLB-200 / M2M100".
    var displayName: String { get }
    var capability: ModelCapability { get }
    /// Reads and checks the folder's config.json: what `inspect` prints.
    func readConfig(directory: URL) throws -> ModelConfigSummary
    /// Every tensor the model reads, under the names `checkpoint` uses.
    func tensorTable(directory: URL, checkpoint: Checkpoint) throws -> any CheckpointTensorTable
    /// The folder's tokenizer, without the weights.
    func loadTokenizer(directory: URL) throws -> any Tokenizer
    /// Loads the model, its tokenizer and its generation defaults.
    func load(directory: URL, options: ModelLoadOptions) throws -> LoadedModel
}

/// What the server does with a model.
public enum ModelCapability: String, Sendable {
    /// Continues text (`/v1/completions`, chat, stories): a `CausalLanguagePipeline`.
    case causalGeneration = "generation"
    /// Translates between languages (`/v1/translate`, `/translate`).
    case translation
}

/// A loaded model folder, by what it can do.
public enum LoadedModel: Sendable {
    case causalGeneration(any CausalLanguagePipeline)
    case translation(NLLBPipeline)

    public var capability: ModelCapability {
        switch self {
        case .causalGeneration: return .causalGeneration
        case .translation: return .translation
        }
    }
}

/// How to keep a model in memory (`--dtype`, `--kv-cache`), and a translation model's
/// vocabulary map (`--vocabulary-map`).
public struct ModelLoadOptions: Sendable {
    public var precision: WeightPrecision
    public var cachePrecision: KVCachePrecision
    /// A CTranslate2 vocabulary map (vmap.txt); only translation models take one.
    public var vocabularyMap: URL?

    public init(precision: WeightPrecision = .f32, cachePrecision: KVCachePrecision = .f32, vocabularyMap: URL? = nil) {
        self.precision = precision
        self.cachePrecision = cachePrecision
        self.vocabularyMap = vocabularyMap
    }
}

/// A config.json as `inspect` shows it.
public struct ModelConfigSummary: Sendable, Equatable {
    public let modelType: String
    /// config.json's keys and values that shape the model.
    public let fields: [String: String]
    /// Positions one sequence can hold.
    public let contextLength: Int
    /// f32 attention caches of one sequence at full context (self and cross attention).
    public let kvCacheBytesPerSequence: Int

    public init(modelType: String, fields: [String: String], contextLength: Int, kvCacheBytesPerSequence: Int) {
        self.modelType = modelType
        self.fields = fields
        self.contextLength = contextLength
        self.kvCacheBytesPerSequence = kvCacheBytesPerSequence
    }
}
