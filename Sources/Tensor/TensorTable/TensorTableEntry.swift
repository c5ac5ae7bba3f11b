import Kernels

/// One tensor of an architecture's checkpoint, as its table lists it: the names it may be
/// stored under, the shape a float checkpoint stores, and what it is for.
public struct TensorTableEntry: Sendable, Equatable {
    public enum Kind: Sendable, Equatable {
        /// A linear layer's weight: `quantize` and `--dtype` convert it ([out, in] once converted).
        case matrix(WeightLayout)
        /// A bias, or a norm's scale or shift: kept f32.
        case vector
        /// A lookup table read by row: kept f32.
        case embedding
        /// A buffer some exports carry and the model never reads (GPT-2's attention masks).
        case buffer
    }

    /// The names it may be stored under, preferred first. Loading reads the first one present;
    /// any other present name is a tied copy of the same weights.
    public let names: [String]
    /// As a float checkpoint stores it (`[in, out]` for an input-major matrix); nil for a buffer.
    public let shape: [Int]?
    public let kind: Kind
    /// Whether a checkpoint must store it (a tied output layer and a buffer may be absent).
    public let isRequired: Bool
    /// The names read in its place when it is tied or absent (the embedding a tied output
    /// layer reads), preferred first; empty when nothing stands in for it.
    public let fallback: [String]

    public init(names: [String], shape: [Int]?, kind: Kind, isRequired: Bool = true, fallback: [String] = []) {
        precondition(!names.isEmpty, "a table entry needs a name")
        self.names = names
        self.shape = shape
        self.kind = kind
        self.isRequired = isRequired
        self.fallback = fallback
    }

    /// The one name: for a tensor stored under a single name.
    public var name: String { names[0] }

    /// For a matrix: its input and output features, from the stored shape and layout.
    public var features: (inFeatures: Int, outFeatures: Int)? {
        guard case .matrix(let layout) = kind, let shape, shape.count == 2 else { return nil }
        return layout == .inputMajor ? (shape[0], shape[1]) : (shape[1], shape[0])
    }
}
