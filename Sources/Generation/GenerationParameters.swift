/// What to do when a prompt plus the tokens asked for do not fit the model's positions.
public enum ContextOverflowPolicy: String, Sendable, Codable {
    /// Refuse with `GenerationError.contextOverflow` before any work is done.
    case error
    /// Keep only the most recent tokens: the prompt is cut from the front, and
    /// when the cache fills up the newest half of the window is re-read.
    case keepRecent = "keep-recent"
}

/// Every knob of a generation, with transformers' meaning unless noted.
///
/// Sampling filters run in transformers' order: repetition penalty, presence and
/// frequency penalties, no-repeat n-grams, then (when sampling) temperature,
/// top-k, top-p, min-p.
public struct GenerationParameters: Sendable, Equatable {
    /// New tokens at most. `nil` falls back to `maxLength`.
    public var maxNewTokens: Int?
    /// transformers' `max_length`: prompt and new tokens together.
    public var maxLength: Int?
    /// Sample (true) or take the most likely token (false).
    public var doSample: Bool = false
    public var temperature: Float = 1
    /// 0 disables.
    public var topK: Int = 0
    /// 1 disables.
    public var topP: Float = 1
    /// 0 disables.
    public var minP: Float = 0
    /// transformers' multiplicative penalty on every token already in the sequence (prompt included); 1 disables.
    public var repetitionPenalty: Float = 1
    /// OpenAI's additive penalty on tokens generated at least once; 0 disables.
    public var presencePenalty: Float = 0
    /// OpenAI's additive penalty per earlier occurrence in the generated tokens; 0 disables.
    public var frequencyPenalty: Float = 0
    /// Forbid repeating any n-gram of this size (prompt included); 0 disables.
    public var noRepeatNgramSize: Int = 0
    /// Same seed, same tokens. `nil` draws a seed (reported in the result).
    public var seed: UInt64?
    /// Generation stops when the text contains one; the text is cut before it.
    public var stopStrings: [String] = []
    /// Tokens that end generation (included in the generated ids, not in the text).
    public var eosTokenIDs: [Int] = []
    public var contextOverflow: ContextOverflowPolicy = .error
    /// Leave special tokens out of the text.
    public var skipSpecialTokens: Bool = true

    public init() {}

    /// Checks values a user could get wrong; the message says which and why.
    public func validate() throws {
        func fail(_ name: String, _ value: Any, _ rule: String) -> GenerationError {
            .invalidParameter(name: name, value: "\(value)", reason: rule)
        }
        if let n = maxNewTokens, n < 0 { throw fail("max_new_tokens", n, "must be >= 0") }
        if let n = maxLength, n < 1 { throw fail("max_length", n, "must be >= 1") }
        if !temperature.isFinite || temperature < 0 {
            throw fail("temperature", temperature, "must be a finite number >= 0")
        }
        if topK < 0 { throw fail("top_k", topK, "must be >= 0 (0 disables)") }
        if !topP.isFinite || topP <= 0 || topP > 1 { throw fail("top_p", topP, "must be in (0, 1]") }
        if !minP.isFinite || minP < 0 || minP > 1 { throw fail("min_p", minP, "must be in [0, 1]") }
        if !repetitionPenalty.isFinite || repetitionPenalty <= 0 {
            throw fail("repetition_penalty", repetitionPenalty, "must be a finite number > 0")
        }
        if !presencePenalty.isFinite || abs(presencePenalty) > 2 {
            throw fail("presence_penalty", presencePenalty, "must be in [-2, 2]")
        }
        if !frequencyPenalty.isFinite || abs(frequencyPenalty) > 2 {
            throw fail("frequency_penalty", frequencyPenalty, "must be in [-2, 2]")
        }
        if noRepeatNgramSize < 0 { throw fail("no_repeat_ngram_size", noRepeatNgramSize, "must be >= 0") }
        if stopStrings.contains(where: \.isEmpty) { throw fail("stop", "\"\"", "stop strings must not be empty") }
    }

    /// Sampling with temperature 0 is greedy decoding (OpenAI's convention).
    public var isGreedy: Bool { !doSample || temperature == 0 }
}
