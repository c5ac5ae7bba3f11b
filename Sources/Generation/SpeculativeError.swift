/// Why speculative decoding could not run; each says what to do instead.
public enum SpeculativeError: Error, CustomStringConvertible, Equatable {
    /// The target's forward cannot return logits for every token of a step.
    case targetCannotVerify
    /// Draft and target must score the same vocabulary (the same tokenizer).
    case vocabularyMismatch(target: Int, draft: Int)
    /// The draft model attends over fewer positions than the generation needs.
    case draftContextTooShort(needed: Int, draftPositions: Int)
    /// Speculation keeps both caches in step; sliding the window is the plain loop's job.
    case keepRecentUnsupported(promptTokens: Int, newTokens: Int, maxPositions: Int)
    case invalidDraftTokens(Int)

    public var description: String {
        switch self {
        case .targetCannotVerify:
            return "the model cannot return logits for every position of a step, which speculative decoding needs. "
                + "Drop --draft."
        case .vocabularyMismatch(let target, let draft):
            return "the draft model's vocabulary has \(draft) tokens but the target's has \(target): a draft must "
                + "share the target's tokenizer. Pick a draft of the same family, or --draft ngram."
        case .draftContextTooShort(let needed, let positions):
            return "the draft model attends over \(positions) positions but this generation needs \(needed). Ask "
                + "for fewer tokens or pick another draft."
        case .keepRecentUnsupported(let prompt, let new, let limit):
            return "the prompt (\(prompt) tokens) plus \(new) new tokens exceeds the model's \(limit) positions, "
                + "and speculative decoding does not slide the window. Ask for at most \(max(0, limit - prompt)) "
                + "new tokens, or drop --draft."
        case .invalidDraftTokens(let k):
            return "--draft-tokens \(k): give at least 1 token per draft."
        }
    }
}
