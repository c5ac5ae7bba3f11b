import Foundation
import Generation
import Kernels
import Tensor

/// A GPT-2 `config.json`, with transformers' `GPT2Config` defaults for absent keys.
public struct GPT2Config: Encodable, Sendable, Equatable {
    public var modelType: String
    public var vocabSize: Int
    public var nPositions: Int
    public var nEmbd: Int
    public var nLayer: Int
    public var nHead: Int
    /// Width of the MLP; `nil` means 4·n_embd.
    public var nInner: Int?
    public var activationFunction: String
    public var layerNormEpsilon: Float
    public var scaleAttnWeights: Bool
    public var scaleAttnByInverseLayerIdx: Bool
    public var reorderAndUpcastAttn: Bool
    public var addCrossAttention: Bool
    public var tieWordEmbeddings: Bool
    public var bosTokenID: Int?
    public var eosTokenID: Int?

    enum CodingKeys: String, CodingKey {
        case modelType = "model_type"
        case vocabSize = "vocab_size"
        case nPositions = "n_positions"
        case nEmbd = "n_embd"
        case nLayer = "n_layer"
        case nHead = "n_head"
        case nInner = "n_inner"
        case activationFunction = "activation_function"
        case layerNormEpsilon = "layer_norm_epsilon"
        case scaleAttnWeights = "scale_attn_weights"
        case scaleAttnByInverseLayerIdx = "scale_attn_by_inverse_layer_idx"
        case reorderAndUpcastAttn = "reorder_and_upcast_attn"
        case addCrossAttention = "add_cross_attention"
        case tieWordEmbeddings = "tie_word_embeddings"
        case bosTokenID = "bos_token_id"
        case eosTokenID = "eos_token_id"
    }

    /// gpt2 (124M) as the hub ships it.
    public static let gpt2Small = GPT2Config(nEmbd: 768, nLayer: 12, nHead: 12)
    /// gpt2-medium (355M).
    public static let gpt2Medium = GPT2Config(nEmbd: 1024, nLayer: 24, nHead: 16)

    public init(
        vocabSize: Int = 50257, nPositions: Int = 1024, nEmbd: Int = 768, nLayer: Int = 12, nHead: Int = 12,
        nInner: Int? = nil, activationFunction: String = "gelu_new", layerNormEpsilon: Float = 1e-5
    ) {
        modelType = "gpt2"
        self.vocabSize = vocabSize
        self.nPositions = nPositions
        self.nEmbd = nEmbd
        self.nLayer = nLayer
        self.nHead = nHead
        self.nInner = nInner
        self.activationFunction = activationFunction
        self.layerNormEpsilon = layerNormEpsilon
        scaleAttnWeights = true
        scaleAttnByInverseLayerIdx = false
        reorderAndUpcastAttn = false
        addCrossAttention = false
        tieWordEmbeddings = true
        bosTokenID = 50256
        eosTokenID = 50256
    }

    /// Reads and validates `config.json` in a model folder, with the meaning transformers gives
    /// it (`ConfigJSON`); absent keys take `GPT2Config`'s defaults, `model_type` must be given.
    public static func load(directory: URL) throws -> GPT2Config {
        let url = directory.appendingPathComponent("config.json")
        guard FileManager.default.fileExists(atPath: url.path) else { throw GPT2Error.configNotFound(path: url.path) }
        let config: GPT2Config
        do {
            config = try GPT2Config(file: ConfigJSON(contentsOf: url))
        } catch let fault as ConfigJSON.Fault {
            if fault.deliberate {
                throw GPT2Error.unsupportedConfig(key: fault.key, value: fault.value, reason: fault.reason)
            }
            throw GPT2Error.malformedConfig(path: url.path, reason: "\(fault.key) \(fault.reason)")
        }
        try config.validate()
        return config
    }

    init(file: ConfigJSON) throws {
        let d = GPT2Config()
        guard let modelType = try file.string("model_type") else {
            throw ConfigJSON.Fault(
                key: "model_type", reason: "is missing (transformers cannot tell the architecture)", deliberate: false)
        }
        self.init(
            vocabSize: try file.size("vocab_size", default: d.vocabSize),
            nPositions: try file.size("n_positions", default: d.nPositions),
            nEmbd: try file.size("n_embd", default: d.nEmbd),
            nLayer: try file.size("n_layer", default: d.nLayer, count: true),
            nHead: try file.size("n_head", default: d.nHead, count: true), nInner: try file.optionalSize("n_inner"),
            activationFunction: try file.string("activation_function") ?? d.activationFunction,
            layerNormEpsilon: Float(try file.number("layer_norm_epsilon", default: Double(d.layerNormEpsilon))))
        self.modelType = modelType
        scaleAttnWeights = file.flag("scale_attn_weights", default: true)
        scaleAttnByInverseLayerIdx = file.flag("scale_attn_by_inverse_layer_idx", default: false)
        reorderAndUpcastAttn = file.flag("reorder_and_upcast_attn", default: false)
        addCrossAttention = file.flag("add_cross_attention", default: false)
        tieWordEmbeddings = file.flag("tie_word_embeddings", default: true)
        bosTokenID = try file.tokenID("bos_token_id", default: d.bosTokenID)
        eosTokenID = try file.tokenID("eos_token_id", default: d.eosTokenID)
    }

    public var headDim: Int { nEmbd / nHead }
    public var innerDim: Int { nInner ?? 4 * nEmbd }

    /// The activation, or nil if transformers names one we do not implement.
    public var activation: Activation? { Activation(rawValue: activationFunction) }

    /// Rejects what this implementation does not compute, before any weight is read.
    public func validate() throws {
        func unsupported(_ key: String, _ value: Any, _ reason: String) -> GPT2Error {
            .unsupportedConfig(key: key, value: "\(value)", reason: reason)
        }
        guard modelType == "gpt2" else {
            throw unsupported(
                "model_type", modelType,
                "this loader reads GPT-2 checkpoints (model_type \"gpt2\"); use the command for that architecture")
        }
        for (key, value) in [
            ("vocab_size", vocabSize), ("n_positions", nPositions), ("n_embd", nEmbd), ("n_layer", nLayer),
            ("n_head", nHead),
        ] where value <= 0 {
            throw unsupported(key, value, "must be positive")
        }
        guard nEmbd % nHead == 0 else {
            throw unsupported("n_head", nHead, "n_embd \(nEmbd) must be divisible by n_head")
        }
        if let nInner, nInner <= 0 { throw unsupported("n_inner", nInner, "must be positive or null") }
        guard activation != nil else {
            throw unsupported(
                "activation_function", activationFunction,
                "supported: " + Activation.allCases.map(\.rawValue).joined(separator: ", "))
        }
        guard layerNormEpsilon.isFinite, layerNormEpsilon > 0 else {
            throw unsupported("layer_norm_epsilon", layerNormEpsilon, "must be a positive number")
        }
        guard !addCrossAttention else {
            throw unsupported(
                "add_cross_attention", true,
                "GPT-2 with cross-attention is an encoder-decoder part, not a language model")
        }
    }
}
