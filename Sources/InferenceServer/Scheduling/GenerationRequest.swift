import Foundation
import Generation
import HTTPServer

/// One generation as an executor runs it: prompt ids and fully resolved parameters.
///
/// Built by the API layer, which has already validated the parameters and capped the
/// token budget to the model's context (see `GenerationBudget`).
public struct GenerationRequest: Sendable {
    public var promptIDs: [Int]
    public var parameters: GenerationParameters
    /// Report each token's log-probability.
    public var wantsLogprobs: Bool
    /// Alternatives reported per token (implies `wantsLogprobs`).
    public var topLogprobs: Int
    /// Seconds from submission (queue time included) after which the request fails with
    /// `ExecutorError.timedOut`; nil for no limit.
    public var timeout: TimeInterval?

    public init(
        promptIDs: [Int], parameters: GenerationParameters, wantsLogprobs: Bool = false,
        topLogprobs: Int = 0, timeout: TimeInterval? = nil
    ) {
        self.promptIDs = promptIDs
        self.parameters = parameters
        self.wantsLogprobs = wantsLogprobs
        self.topLogprobs = topLogprobs
        self.timeout = timeout
    }
}

/// What a finished generation produced, with its timings.
public struct GenerationOutcome: Sendable {
    public let promptIDs: [Int]
    /// New tokens, EOS included when generation stopped on it.
    public let generatedIDs: [Int]
    /// Text of the generated tokens, cut before a stop string.
    public let text: String
    public let finishReason: FinishReason
    public let stopString: String?
    public let seed: UInt64
    public let timings: RequestTimings
}

/// Wall-clock times of one request in an executor, in milliseconds.
public struct RequestTimings: Sendable, Codable, Equatable {
    /// Submission to admission into the batch.
    public var queueMs: Double = 0
    /// Submission to the first token.
    public var timeToFirstTokenMs: Double = 0
    /// First token to the last.
    public var decodeMs: Double = 0
    /// Submission to the end.
    public var totalMs: Double = 0
    public var promptTokens: Int = 0
    public var generatedTokens: Int = 0

    /// Tokens after the first, per second of decoding.
    public var decodeTokensPerSecond: Double {
        decodeMs > 0 && generatedTokens > 1 ? Double(generatedTokens - 1) / (decodeMs / 1000) : 0
    }

    enum CodingKeys: String, CodingKey {
        case queueMs = "queue_ms"
        case timeToFirstTokenMs = "time_to_first_token_ms"
        case decodeMs = "decode_ms"
        case totalMs = "total_ms"
        case promptTokens = "prompt_tokens"
        case generatedTokens = "generated_tokens"
        case decodeTokensPerSecond = "decode_tokens_per_s"
    }

    public init() {}

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        queueMs = try c.decode(Double.self, forKey: .queueMs)
        timeToFirstTokenMs = try c.decode(Double.self, forKey: .timeToFirstTokenMs)
        decodeMs = try c.decode(Double.self, forKey: .decodeMs)
        totalMs = try c.decode(Double.self, forKey: .totalMs)
        promptTokens = try c.decode(Int.self, forKey: .promptTokens)
        generatedTokens = try c.decode(Int.self, forKey: .generatedTokens)
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(queueMs, forKey: .queueMs)
        try c.encode(timeToFirstTokenMs, forKey: .timeToFirstTokenMs)
        try c.encode(decodeMs, forKey: .decodeMs)
        try c.encode(totalMs, forKey: .totalMs)
        try c.encode(promptTokens, forKey: .promptTokens)
        try c.encode(generatedTokens, forKey: .generatedTokens)
        try c.encode(decodeTokensPerSecond, forKey: .decodeTokensPerSecond)
    }
}
