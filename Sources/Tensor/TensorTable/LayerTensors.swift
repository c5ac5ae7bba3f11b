import Kernels

/// The tensors of one linear layer as a checkpoint names and shapes them: `<prefix>.weight`
/// (and `<prefix>.bias`). What `Linear(_:_:precision:)` loads and a table lists.
public struct LinearTensors: Sendable, Equatable {
    /// The key prefix, e.g. `transformer.h.0.attn.c_attn`.
    public let prefix: String
    public let inFeatures: Int
    public let outFeatures: Int
    /// How the architecture stores the weight (GPT-2's Conv1D is `.inputMajor`, nn.Linear `.outputMajor`).
    public let layout: WeightLayout
    public let hasBias: Bool

    public init(_ prefix: String, inFeatures: Int, outFeatures: Int, layout: WeightLayout, hasBias: Bool = true) {
        self.prefix = prefix
        self.inFeatures = inFeatures
        self.outFeatures = outFeatures
        self.layout = layout
        self.hasBias = hasBias
    }

    public var weight: String { prefix + ".weight" }
    public var bias: String { prefix + ".bias" }
    /// The weight's shape in a float checkpoint.
    public var storedShape: [Int] { layout == .inputMajor ? [inFeatures, outFeatures] : [outFeatures, inFeatures] }

    public var entries: [TensorTableEntry] {
        let weightEntry = TensorTableEntry(names: [weight], shape: storedShape, kind: .matrix(layout))
        return hasBias
            ? [weightEntry, TensorTableEntry(names: [bias], shape: [outFeatures], kind: .vector)] : [weightEntry]
    }
}

/// `<prefix>.weight` and `<prefix>.bias` of a `torch.nn.LayerNorm` over `features`.
public struct LayerNormTensors: Sendable, Equatable {
    public let prefix: String
    public let features: Int

    public init(_ prefix: String, features: Int) {
        self.prefix = prefix
        self.features = features
    }

    public var entries: [TensorTableEntry] {
        [
            TensorTableEntry(names: [prefix + ".weight"], shape: [features], kind: .vector),
            TensorTableEntry(names: [prefix + ".bias"], shape: [features], kind: .vector),
        ]
    }
}

/// An embedding table [count, dimension], stored under the first of `names` present; the
/// others are the names tied copies of it may carry (M2M100's `shared` and `embed_tokens`).
public struct EmbeddingTensors: Sendable, Equatable {
    public let names: [String]
    public let count: Int
    public let dimension: Int

    public init(names: [String], count: Int, dimension: Int) {
        self.names = names
        self.count = count
        self.dimension = dimension
    }

    public var entries: [TensorTableEntry] {
        [TensorTableEntry(names: names, shape: [count, dimension], kind: .embedding)]
    }
}

/// A model's output layer: `lm_head.weight` [vocab, width] (output-major, no bias), or, when
/// tied, the embedding's own table. A file written by `octavo-infer quantize` stores the head
/// explicitly, quantized, even when tied.
public struct OutputLayerTensors: Sendable, Equatable {
    public let head: LinearTensors
    /// The embedding a tied head reads (and an untied one falls back to when quantizing a file without it).
    public let embedding: EmbeddingTensors
    public let isTied: Bool

    public init(head: String = "lm_head", embedding: EmbeddingTensors, isTied: Bool) {
        self.head = LinearTensors(
            head, inFeatures: embedding.dimension, outFeatures: embedding.count, layout: .outputMajor,
            hasBias: false)
        self.embedding = embedding
        self.isTied = isTied
    }

    public var entries: [TensorTableEntry] {
        [
            TensorTableEntry(
                names: [head.weight], shape: head.storedShape, kind: .matrix(.outputMajor), isRequired: !isTied,
                fallback: embedding.names)
        ]
    }
}
