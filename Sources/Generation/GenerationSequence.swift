import Foundation
import Tokenizer

/// One sequence being generated: its tokens, sampler, stop strings, budget and
/// the text released so far. Model-agnostic: it is handed the logits of its
/// last position and says which token comes next and whether it is done.
///
/// The single-sequence loop (`TextGenerator`) and the server's batch scheduler
/// both drive sequences through this type, so they cannot disagree.
public final class GenerationSequence {
    public let parameters: GenerationParameters
    public let history: TokenHistory
    public let sampler: Sampler
    /// New tokens this sequence may produce.
    public let maxNewTokens: Int
    public let wantsLogprobs: Bool
    /// Alternatives reported per step (OpenAI's `logprobs: N`); implies `wantsLogprobs`.
    public let topLogprobCount: Int
    public private(set) var finishReason: FinishReason?
    public private(set) var stopString: String?

    private let tokenizer: Tokenizer
    private let stops: StopStringMatcher
    private let eos: Set<Int>
    private let vocabularySize: Int
    /// UTF-8 of the generated text (special tokens skipped when asked).
    private var textBytes: [UInt8] = []
    /// Bytes already searched for stop strings, and already handed out.
    private var checkedCount = 0
    private var releasedCount = 0

    /// Validates the parameters, resolves the token budget and checks it fits
    /// the model's positions (unless keeping only recent tokens is allowed).
    ///
    /// With `wantsLogprobs` each step reports the log-probability of its token,
    /// and with `topLogprobs` > 0 also that many most likely alternatives, both
    /// under the distribution the token was drawn from (after penalties and,
    /// when sampling, the warpers).
    public init(
        promptIDs: [Int], parameters: GenerationParameters, tokenizer: Tokenizer,
        vocabularySize: Int, maxPositions: Int, wantsLogprobs: Bool = false, topLogprobs: Int = 0
    ) throws {
        try parameters.validate()
        guard !promptIDs.isEmpty else { throw GenerationError.emptyPrompt }
        if let bad = promptIDs.first(where: { $0 < 0 || $0 >= vocabularySize }) {
            throw GenerationError.tokenOutOfRange(id: bad, vocabularySize: vocabularySize)
        }
        let promptCount = promptIDs.count
        let budget: Int
        if let n = parameters.maxNewTokens {
            budget = n
        } else if let length = parameters.maxLength {
            budget = max(0, length - promptCount)
        } else {
            budget = max(0, maxPositions - promptCount)
        }
        if parameters.contextOverflow == .error && promptCount + budget > maxPositions {
            throw GenerationError.contextOverflow(
                promptTokens: promptCount, requestedNewTokens: budget, maxPositions: maxPositions)
        }
        self.parameters = parameters
        self.maxNewTokens = budget
        self.tokenizer = tokenizer
        self.vocabularySize = vocabularySize
        self.wantsLogprobs = wantsLogprobs || topLogprobs > 0
        self.topLogprobCount = max(0, min(topLogprobs, vocabularySize))
        stops = StopStringMatcher(parameters.stopStrings)
        eos = Set(parameters.eosTokenIDs)
        history = TokenHistory(prompt: promptIDs, vocabularySize: vocabularySize, reserve: min(budget, 1 << 16))
        sampler = Sampler(vocabularySize: vocabularySize, parameters: parameters)
        textBytes.reserveCapacity(min(budget, 1 << 16) * 8)
        if budget == 0 { finishReason = .length }
    }

    public var isFinished: Bool { finishReason != nil }
    public var promptIDs: [Int] { Array(history.tokens[..<history.promptCount]) }
    public var generatedIDs: [Int] { Array(history.generated) }
    /// The most recent token (what the model must read next).
    public var lastToken: Int { history.tokens[history.tokens.count - 1] }

    /// The text generated so far, cut before a stop string if one matched.
    public var text: String { String(decoding: textBytes, as: UTF8.self) }

    /// Chooses the next token from the logits of the last position (processed in
    /// place), appends it and reports the text it releases.
    public func advance(logits: UnsafeMutablePointer<Float>) -> GenerationStep {
        precondition(!isFinished, "advance() after the sequence finished")
        let token = sampler.choose(logits, history: history)
        return append(token, processedLogits: logits)
    }

    /// Appends a token chosen elsewhere (speculative decoding's acceptance rule) from
    /// `processedLogits`, the row after the sampler's processors (what logprobs report),
    /// and reports the text it releases: EOS, stop strings and the budget as in `advance`.
    public func append(_ token: Int, processedLogits logits: UnsafePointer<Float>) -> GenerationStep {
        precondition(!isFinished, "append() after the sequence finished")
        var logprob: Float?
        var alternatives: [TokenLogprob] = []
        if wantsLogprobs {
            let normalizer = logSumExp(logits)
            logprob = logits[token] - normalizer
            if topLogprobCount > 0 { alternatives = mostLikely(logits, count: topLogprobCount, normalizer: normalizer) }
        }
        history.append(token)

        if eos.contains(token) {
            return finish(.eos, token: token, logprob: logprob, alternatives: alternatives)
        }
        let isSpecial = parameters.skipSpecialTokens && tokenizer.specialTokenIDs.contains(token)
        if !isSpecial, let bytes = tokenizer.bytes(forToken: token, isFirst: textBytes.isEmpty) {
            textBytes.append(contentsOf: bytes)
        }
        if let match = stops.firstMatch(in: textBytes, previousCount: checkedCount) {
            textBytes.removeSubrange(match.offset...)
            stopString = match.stop
            return finish(.stop, token: token, logprob: logprob, alternatives: alternatives)
        }
        checkedCount = textBytes.count
        if history.generated.count >= maxNewTokens {
            return finish(.length, token: token, logprob: logprob, alternatives: alternatives)
        }
        return GenerationStep(
            token: token, text: release(final: false), finishReason: nil, logprob: logprob,
            topLogprobs: alternatives)
    }

    /// Ends the sequence from outside (client gone, job cancelled).
    public func cancel() {
        if finishReason == nil { finishReason = .cancelled }
    }

    private func finish(_ reason: FinishReason, token: Int, logprob: Float?, alternatives: [TokenLogprob])
        -> GenerationStep
    {
        finishReason = reason
        return GenerationStep(
            token: token, text: release(final: true), finishReason: reason, logprob: logprob,
            topLogprobs: alternatives)
    }

    /// Text between what was released and what is safe to release now.
    private func release(final: Bool) -> String {
        var end = textBytes.count
        if !final {
            end = completeUTF8Prefix(textBytes, end: stops.releasableCount(textBytes))
        }
        guard end > releasedCount else { return "" }  // also covers text cut by a stop string
        let piece = String(decoding: textBytes[releasedCount..<end], as: UTF8.self)
        releasedCount = end
        return piece
    }

    /// log Σ exp(scores): subtracting it from a score gives that token's log-probability.
    private func logSumExp(_ scores: UnsafePointer<Float>) -> Float {
        var maximum = -Float.infinity
        for i in 0..<vocabularySize { maximum = max(maximum, scores[i]) }
        var sum: Float = 0
        for i in 0..<vocabularySize { sum += expf(scores[i] - maximum) }
        return maximum + logf(sum)
    }

    /// The `count` highest finite scores as log-probabilities, highest first (lower id first on ties).
    private func mostLikely(_ scores: UnsafePointer<Float>, count: Int, normalizer: Float) -> [TokenLogprob] {
        var best: [(token: Int, score: Float)] = []
        best.reserveCapacity(count + 1)
        for i in 0..<vocabularySize {
            let score = scores[i]
            guard score > -.infinity, score.isFinite else { continue }
            if best.count == count, let last = best.last, score <= last.score { continue }
            var position = best.count
            while position > 0 && best[position - 1].score < score { position -= 1 }
            best.insert((i, score), at: position)
            if best.count > count { best.removeLast() }
        }
        return best.map { TokenLogprob(token: $0.token, logprob: $0.score - normalizer) }
    }
}
