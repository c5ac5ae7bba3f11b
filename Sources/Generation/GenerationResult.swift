/// Why a sequence stopped.
public enum FinishReason: String, Sendable, Codable {
    /// An end-of-sequence token was produced.
    case eos
    /// The token budget (max_new_tokens / max_length) ran out.
    case length
    /// The text reached a stop string.
    case stop
    /// The caller stopped it (a client went away, a job was cancelled).
    case cancelled
}

/// One token chosen, with the text it adds to what was streamed so far.
public struct GenerationStep: Sendable {
    public let token: Int
    /// Newly releasable text: complete UTF-8, stop strings and what might still
    /// become one held back. Often empty.
    public let text: String
    /// Set on the last step.
    public let finishReason: FinishReason?
    /// log-probability of `token` under the processed distribution, when asked for.
    public let logprob: Float?
    /// The most likely tokens of the same distribution, most likely first, when
    /// asked for (`topLogprobs` > 0); tokens the filters removed are left out.
    public let topLogprobs: [TokenLogprob]

    public init(
        token: Int, text: String, finishReason: FinishReason?, logprob: Float?, topLogprobs: [TokenLogprob] = []
    ) {
        self.token = token
        self.text = text
        self.finishReason = finishReason
        self.logprob = logprob
        self.topLogprobs = topLogprobs
    }
}

/// A token and its log-probability.
public struct TokenLogprob: Sendable, Equatable {
    public let token: Int
    public let logprob: Float

    public init(token: Int, logprob: Float) {
        self.token = token
        self.logprob = logprob
    }
}

/// Wall-clock times of one generation, in milliseconds.
public struct GenerationTimings: Sendable, Codable, Equatable {
    public var prefillMs: Double = 0
    public var decodeMs: Double = 0
    public var promptTokens: Int = 0
    public var generatedTokens: Int = 0
    /// Single-token forward passes in the decode span, per second.
    public var decodeTokensPerSecond: Double = 0
    public init() {}
}

/// What a finished generation produced.
public struct GenerationResult: Sendable {
    public let promptIDs: [Int]
    /// New tokens, the EOS token included when generation stopped on it
    /// (transformers' `generate()[0, len(prompt):]`).
    public let generatedIDs: [Int]
    /// Text of the generated tokens, special tokens left out, cut before a stop string.
    public let text: String
    public let finishReason: FinishReason
    /// The stop string that ended generation, when one did.
    public let stopString: String?
    public let seed: UInt64
    public var timings: GenerationTimings
}
