import Foundation

/// Turns one row of logits into a token: the filters of `GenerationParameters`
/// in transformers' order, then argmax (greedy) or a draw from the softmax.
///
/// Owns its scratch memory, sized once for the vocabulary, so choosing a token
/// allocates nothing.
public final class Sampler {
    public let vocabularySize: Int
    public let parameters: GenerationParameters
    /// The seed actually used (drawn when the parameters gave none).
    public let seed: UInt64
    private var random: RandomSource
    private let scratch: UnsafeMutablePointer<Float>
    private let indices: UnsafeMutablePointer<Int32>

    public init(vocabularySize: Int, parameters: GenerationParameters) {
        self.vocabularySize = vocabularySize
        self.parameters = parameters
        seed = parameters.seed ?? UInt64.random(in: 0...UInt64.max)
        random = RandomSource(seed: seed)
        scratch = .allocate(capacity: max(vocabularySize, 1))
        indices = .allocate(capacity: max(vocabularySize, 1))
    }

    deinit {
        scratch.deallocate()
        indices.deallocate()
    }

    /// Applies the penalties and filters to `scores` in place (the processed
    /// row is what beam search and logprobs read), then chooses a token.
    public func choose(_ scores: UnsafeMutablePointer<Float>, history: TokenHistory) -> Int {
        applyPenalties(scores, history: history)
        if parameters.isGreedy {
            return LogitsProcessors.argmax(scores, count: vocabularySize)
        }
        applyWarpers(scores)
        return draw(scores)
    }

    /// The processors transformers runs for greedy and sampling alike.
    public func applyPenalties(_ scores: UnsafeMutablePointer<Float>, history: TokenHistory) {
        LogitsProcessors.repetitionPenalty(
            scores, distinctTokens: history.distinctTokens, penalty: parameters.repetitionPenalty)
        history.withGeneratedCounts { counts in
            LogitsProcessors.presenceFrequencyPenalty(
                scores, generatedCounts: counts, distinctGenerated: history.distinctGenerated,
                presence: parameters.presencePenalty, frequency: parameters.frequencyPenalty)
        }
        LogitsProcessors.noRepeatNgram(scores, tokens: history.tokens[...], size: parameters.noRepeatNgramSize)
    }

    /// The warpers transformers runs only when sampling.
    public func applyWarpers(_ scores: UnsafeMutablePointer<Float>) {
        let n = vocabularySize
        LogitsProcessors.temperature(scores, count: n, temperature: parameters.temperature)
        LogitsProcessors.topK(scores, count: n, k: parameters.topK, scratch: scratch)
        LogitsProcessors.topP(scores, count: n, p: parameters.topP, indices: indices, probabilities: scratch)
        LogitsProcessors.minP(scores, count: n, minP: parameters.minP)
    }

    /// Uniform in [0, 1) from this sampler's seeded stream (speculative decoding's
    /// acceptance draws share it, so a seed still fixes the whole output).
    public func uniform() -> Double { random.nextUnit() }

    /// A draw from softmax(scores) (`torch.multinomial` over the same distribution).
    public func draw(_ scores: UnsafePointer<Float>) -> Int {
        let n = vocabularySize
        var maximum = -Float.infinity
        for i in 0..<n { maximum = max(maximum, scores[i]) }
        var total: Double = 0
        for i in 0..<n {
            let e = Double(expf(scores[i] - maximum))
            scratch[i] = Float(e)
            total += e
        }
        let target = random.nextUnit() * total
        var cumulative: Double = 0
        var last = 0
        for i in 0..<n where scratch[i] > 0 {
            cumulative += Double(scratch[i])
            last = i
            if cumulative > target { return i }
        }
        return last  // rounding left the target past the end: the last possible token
    }
}
