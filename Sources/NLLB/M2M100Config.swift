import Foundation
import Generation
import Kernels
import Tensor

/// An M2M100 `config.json` (NLLB-200 checkpoints use this architecture).
///
/// The keys that shape the weights are required: a config missing one is broken,
/// and guessing transformers' default (e.g. d_model 1024) would only fail later,
/// less clearly. Token ids, activation, scaling and tying default as in
/// transformers' `M2M100Config`.
public struct M2M100Config: Encodable, Sendable, Equatable {
    public var modelType: String
    public var vocabSize: Int
    public var dModel: Int
    public var encoderLayers: Int
    public var decoderLayers: Int
    public var encoderAttentionHeads: Int
    public var decoderAttentionHeads: Int
    public var encoderFFNDim: Int
    public var decoderFFNDim: Int
    public var maxPositionEmbeddings: Int
    public var activationFunction: String
    /// Multiply token embeddings by √d_model.
    public var scaleEmbedding: Bool
    public var padTokenID: Int
    public var bosTokenID: Int
    public var eosTokenID: Int
    public var decoderStartTokenID: Int
    /// lm_head shares the token embedding.
    public var tieWordEmbeddings: Bool

    /// transformers builds every M2M100 layer norm with nn.LayerNorm's default eps.
    public static let layerNormEpsilon: Float = 1e-5

    enum CodingKeys: String, CodingKey {
        case modelType = "model_type"
        case vocabSize = "vocab_size"
        case dModel = "d_model"
        case encoderLayers = "encoder_layers"
        case decoderLayers = "decoder_layers"
        case encoderAttentionHeads = "encoder_attention_heads"
        case decoderAttentionHeads = "decoder_attention_heads"
        case encoderFFNDim = "encoder_ffn_dim"
        case decoderFFNDim = "decoder_ffn_dim"
        case maxPositionEmbeddings = "max_position_embeddings"
        case activationFunction = "activation_function"
        case scaleEmbedding = "scale_embedding"
        case padTokenID = "pad_token_id"
        case bosTokenID = "bos_token_id"
        case eosTokenID = "eos_token_id"
        case decoderStartTokenID = "decoder_start_token_id"
        case tieWordEmbeddings = "tie_word_embeddings"
    }

    /// facebook/nllb-200-distilled-600M.
    public static let nllb200Distilled600M = M2M100Config(
        vocabSize: 256206, dModel: 1024, encoderLayers: 12, decoderLayers: 12, attentionHeads: 16, ffnDim: 4096,
        maxPositionEmbeddings: 1024)

    public init(
        vocabSize: Int, dModel: Int, encoderLayers: Int, decoderLayers: Int, attentionHeads: Int, ffnDim: Int,
        maxPositionEmbeddings: Int, activationFunction: String = "relu", scaleEmbedding: Bool = true,
        tieWordEmbeddings: Bool = true
    ) {
        modelType = "m2m_100"
        self.vocabSize = vocabSize
        self.dModel = dModel
        self.encoderLayers = encoderLayers
        self.decoderLayers = decoderLayers
        encoderAttentionHeads = attentionHeads
        decoderAttentionHeads = attentionHeads
        encoderFFNDim = ffnDim
        decoderFFNDim = ffnDim
        self.maxPositionEmbeddings = maxPositionEmbeddings
        self.activationFunction = activationFunction
        self.scaleEmbedding = scaleEmbedding
        padTokenID = 1
        bosTokenID = 0
        eosTokenID = 2
        decoderStartTokenID = 2
        self.tieWordEmbeddings = tieWordEmbeddings
    }

    /// Reads and validates `config.json` in a model folder.
    public static func load(directory: URL) throws -> M2M100Config {
        let url = directory.appendingPathComponent("config.json")
        guard FileManager.default.fileExists(atPath: url.path) else { throw M2M100Error.configNotFound(path: url.path) }
        let config: M2M100Config
        do {
            config = try M2M100Config(file: ConfigJSON(contentsOf: url))
        } catch let fault as ConfigJSON.Fault {
            if fault.deliberate {
                throw M2M100Error.unsupportedConfig(key: fault.key, value: fault.value, reason: fault.reason)
            }
            throw M2M100Error.malformedConfig(path: url.path, reason: "\(fault.key) \(fault.reason)")
        }
        try config.validate()
        return config
    }

    /// The file read as transformers reads it (`ConfigJSON`). transformers gives absent shape keys
    /// its defaults (d_model 1024...); we deliberately refuse to guess a shape. Absent token ids
    /// and flags take its defaults; a null token id is deliberately not supported.
    init(file: ConfigJSON) throws {
        guard let modelType = try file.string("model_type") else {
            throw ConfigJSON.Fault(
                key: "model_type", reason: "is missing (transformers cannot tell the architecture)", deliberate: false)
        }
        guard modelType == "m2m_100" else {
            throw M2M100Error.unsupportedConfig(
                key: "model_type", value: "\"\(modelType)\"",
                reason: "this loader reads M2M100 / NLLB checkpoints (model_type \"m2m_100\"); use the command for "
                    + "that architecture")
        }
        func shape(_ key: String, count: Bool = false) throws -> Int {
            guard file.contains(key) else {
                throw ConfigJSON.Fault(
                    key: key, value: "(missing)",
                    reason:
                        "missing key \"\(key)\" (transformers would use its default; Octavo Infer deliberately does not guess a shape)",
                    deliberate: true)
            }
            return try file.size(key, default: nil, count: count)
        }
        func id(_ key: String, _ fallback: Int) throws -> Int {
            guard let id = try file.tokenID(key, default: fallback) else {
                throw ConfigJSON.Fault(
                    key: key, value: "null", reason: "a null token id is deliberately not supported", deliberate: true)
            }
            return id
        }
        self.init(
            vocabSize: try shape("vocab_size"), dModel: try shape("d_model"),
            encoderLayers: try shape("encoder_layers", count: true),
            decoderLayers: try shape("decoder_layers", count: true),
            attentionHeads: 16, ffnDim: 4096,
            maxPositionEmbeddings: try shape("max_position_embeddings"),
            activationFunction: try file.string("activation_function") ?? "relu",
            scaleEmbedding: file.flag("scale_embedding", default: true),
            tieWordEmbeddings: file.flag("tie_word_embeddings", default: true))
        self.modelType = modelType
        encoderAttentionHeads = try shape("encoder_attention_heads", count: true)
        decoderAttentionHeads = try shape("decoder_attention_heads", count: true)
        encoderFFNDim = try shape("encoder_ffn_dim")
        decoderFFNDim = try shape("decoder_ffn_dim")
        padTokenID = try id("pad_token_id", 1)
        bosTokenID = try id("bos_token_id", 0)
        eosTokenID = try id("eos_token_id", 2)
        decoderStartTokenID = try id("decoder_start_token_id", 2)
    }

    public var encoderHeadDim: Int { dModel / encoderAttentionHeads }
    public var decoderHeadDim: Int { dModel / decoderAttentionHeads }
    /// transformers' `embed_scale`: √d_model (a Python float, applied in float32).
    public var embeddingScale: Float { scaleEmbedding ? Float(Double(dModel).squareRoot()) : 1 }
    /// The activation, or nil if transformers names one we do not implement.
    public var activation: Activation? { Activation(rawValue: activationFunction) }

    /// Rejects what this implementation does not compute, before any weight is read.
    public func validate() throws {
        func unsupported(_ key: String, _ value: Any, _ reason: String) -> M2M100Error {
            .unsupportedConfig(key: key, value: "\(value)", reason: reason)
        }
        guard modelType == "m2m_100" else {
            throw unsupported(
                "model_type", "\"\(modelType)\"", "this loader reads M2M100 / NLLB checkpoints (model_type \"m2m_100\")"
            )
        }
        let sizes = [
            ("vocab_size", vocabSize), ("d_model", dModel), ("encoder_layers", encoderLayers),
            ("decoder_layers", decoderLayers),
            ("encoder_attention_heads", encoderAttentionHeads), ("decoder_attention_heads", decoderAttentionHeads),
            ("encoder_ffn_dim", encoderFFNDim), ("decoder_ffn_dim", decoderFFNDim),
            ("max_position_embeddings", maxPositionEmbeddings),
        ]
        for (key, value) in sizes where value <= 0 { throw unsupported(key, value, "must be positive") }
        for (key, heads) in [
            ("encoder_attention_heads", encoderAttentionHeads), ("decoder_attention_heads", decoderAttentionHeads),
        ]
        where dModel % heads != 0 {
            throw unsupported(key, heads, "d_model \(dModel) must be divisible by the number of heads")
        }
        // The sinusoid divides by half_dim - 1 (transformers fails the same way).
        guard dModel >= 4 else { throw unsupported("d_model", dModel, "the sinusoidal positions need d_model >= 4") }
        guard activation != nil else {
            throw unsupported(
                "activation_function", activationFunction,
                "supported: " + Activation.allCases.map(\.rawValue).joined(separator: ", "))
        }
        for (key, id) in [
            ("pad_token_id", padTokenID), ("eos_token_id", eosTokenID), ("decoder_start_token_id", decoderStartTokenID),
        ]
        where id < 0 || id >= vocabSize {
            throw unsupported(key, id, "outside the vocabulary (0..<\(vocabSize))")
        }
    }
}
