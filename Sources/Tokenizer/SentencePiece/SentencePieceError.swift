/// Everything that can go wrong while loading or using a SentencePiece model.
///
/// Each message says what is wrong and what to do about it.
public enum SentencePieceError: Error, CustomStringConvertible, Equatable, Sendable {
    /// No file at the given path.
    case fileNotFound(path: String)
    /// The file exists but could not be read.
    case unreadableFile(path: String, reason: String)
    /// The bytes are not a well-formed protobuf message (truncated, garbage, wrong wire type).
    /// `offset` is the byte position where reading failed.
    case malformedProtobuf(offset: Int, reason: String)
    /// The protobuf parsed, but the model it describes cannot be used
    /// (no pieces, duplicate or empty pieces, no `<unk>`, inconsistent byte pieces...).
    case invalidModel(reason: String)
    /// The model uses an algorithm this reader does not implement (WORD, CHAR, or unknown).
    case unsupportedModelType(String)
    /// The normalizer's precompiled character map is damaged.
    case invalidCharsMap(reason: String)

    public var description: String {
        switch self {
        case .fileNotFound(let path):
            return "SentencePiece model not found at \(path): check the path (a SentencePiece model is a binary "
                + "`.model` file, e.g. `sentencepiece.bpe.model` or `spiece.model`)."
        case .unreadableFile(let path, let reason):
            return "Cannot read SentencePiece model \(path): \(reason). Check the file's permissions and that it "
                + "is a regular file."
        case .malformedProtobuf(let offset, let reason):
            return "Not a valid SentencePiece model: protobuf error at byte \(offset): \(reason). The file is "
                + "truncated or is not a `.model` file (a `.vocab` text file or a Git LFS pointer is not a model); "
                + "download it again."
        case .invalidModel(let reason):
            return "Invalid SentencePiece model: \(reason). The file parsed as a ModelProto but cannot be used; "
                + "re-export it with the sentencepiece library."
        case .unsupportedModelType(let type):
            return "Unsupported SentencePiece model type \(type): only UNIGRAM and BPE models are supported."
        case .invalidCharsMap(let reason):
            return "Invalid precompiled normalization map in the SentencePiece model: \(reason). The model file is "
                + "damaged; download or export it again."
        }
    }
}
