/// Why a generation could not run.
public enum GenerationError: Error, CustomStringConvertible, Equatable {
    case invalidParameter(name: String, value: String, reason: String)
    case contextOverflow(promptTokens: Int, requestedNewTokens: Int, maxPositions: Int)
    case emptyPrompt
    case tokenOutOfRange(id: Int, vocabularySize: Int)
    case malformedGenerationConfig(path: String, reason: String)

    public var description: String {
        switch self {
        case .invalidParameter(let name, let value, let reason):
            return "invalid \(name) \(value): \(reason)."
        case .contextOverflow(let prompt, let requested, let limit):
            if prompt >= limit {
                return "the prompt is \(prompt) tokens but the model has \(limit) positions. Shorten the prompt, "
                    + "or allow keeping only the most recent tokens (--context-overflow keep-recent)."
            }
            return "the prompt (\(prompt) tokens) plus \(requested) new tokens exceeds the model's \(limit) "
                + "positions. Ask for at most \(limit - prompt) new tokens, or allow keeping only the most recent "
                + "tokens (--context-overflow keep-recent)."
        case .emptyPrompt:
            return "the prompt is empty and the model has no beginning-of-sequence token to start from. Give a "
                + "prompt."
        case .tokenOutOfRange(let id, let size):
            return "token id \(id) is outside the model's vocabulary (0..<\(size))."
        case .malformedGenerationConfig(let path, let reason):
            return "\(path): \(reason). Fix or remove the file."
        }
    }
}
