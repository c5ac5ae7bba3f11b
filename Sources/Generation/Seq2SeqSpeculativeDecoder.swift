import Foundation
import Kernels

/// Greedy translation of one source with a draft (exact speculative decoding for an
/// encoder-decoder): the draft proposes target tokens, the decoder checks them all in one
/// pass (one step per token at consecutive offsets), keeps the agreeing prefix plus its own
/// next token, and both target caches are cut back. The ids are `Seq2SeqGenerator`'s greedy
/// ids: the same forced first token, processors, EOS and max_length.
public final class Seq2SeqSpeculativeDecoder {
    public let model: Seq2SeqModel
    public let draft: SpeculativeDraft
    public let initialDraftTokens: Int
    public let maxDraftTokens: Int
    private let vocabulary: Int
    private let logits: UnsafeMutablePointer<Float>
    private var proposals: [Int] = []
    private var steps: [Seq2SeqStep] = []

    public init(
        model: Seq2SeqModel, draft: SpeculativeDraft, draftTokens: Int = 4,
        maxDraftTokens: Int = SpeculativeDecoder.defaultMaxDraftTokens
    ) throws {
        guard draftTokens >= 1 else { throw SpeculativeError.invalidDraftTokens(draftTokens) }
        if let other = (draft as? Seq2SeqModelDraft)?.model, other.vocabularySize != model.vocabularySize {
            throw SpeculativeError.vocabularyMismatch(target: model.vocabularySize, draft: other.vocabularySize)
        }
        self.model = model
        self.draft = draft
        self.maxDraftTokens = max(maxDraftTokens, draftTokens)
        initialDraftTokens = draftTokens
        vocabulary = model.vocabularySize
        logits = .allocate(capacity: (self.maxDraftTokens + 1) * vocabulary)
        proposals.reserveCapacity(self.maxDraftTokens)
        steps.reserveCapacity(self.maxDraftTokens + 1)
    }

    deinit { logits.deallocate() }

    /// Shows each draft the source: model drafts encode it, n-gram drafts search it.
    private func prepare(_ draft: SpeculativeDraft, source: [Int], outputVocabulary: OutputVocabulary?) throws {
        switch draft {
        case let model as Seq2SeqModelDraft: try model.begin(source: source, outputVocabulary: outputVocabulary)
        case let ngram as NGramDraft: ngram.reference = source
        case let pair as FallbackDraft:
            try prepare(pair.first, source: source, outputVocabulary: outputVocabulary)
            try prepare(pair.second, source: source, outputVocabulary: outputVocabulary)
        default: break
        }
    }

    /// Translates `source` greedily; `parameters` must ask for one beam and no sampling.
    public func translate(source: [Int], parameters: Seq2SeqParameters) throws -> (
        output: Seq2SeqOutput, statistics: SpeculativeStatistics
    ) {
        try parameters.validate(vocabularySize: vocabulary)
        guard parameters.numBeams == 1, parameters.generation.isGreedy else {
            throw GenerationError.invalidParameter(
                name: "draft", value: "with beams or sampling",
                reason: "speculative translation is greedy: drop the draft, or "
                    + "--beams and sampling")
        }
        let maxLength = try parameters.resolvedMaxLength(maxTargetPositions: model.maxTargetPositions)
        let encoded = try model.encode([source])[0]
        try prepare(draft, source: source, outputVocabulary: parameters.outputVocabulary)
        try draft.start(capacity: maxLength)
        let cache = model.makeTargetCache(capacity: maxLength)
        let sampler = Sampler(vocabularySize: vocabulary, parameters: parameters.generation)
        let history = TokenHistory(
            prompt: [parameters.decoderStartTokenID], vocabularySize: vocabulary, reserve: maxLength)
        let eos = Set(parameters.generation.eosTokenIDs)
        var statistics = SpeculativeStatistics()
        var length = DraftLength(initial: initialDraftTokens, maximum: maxDraftTokens)
        var finish: FinishReason?

        // The first token is forced (the target language): no logits, no draft.
        steps = [Seq2SeqStep(target: cache, source: encoded, token: parameters.decoderStartTokenID)]
        let forced = parameters.forcedBOSTokenID
        try model.decode(steps, logits: forced == nil ? logits : nil, vocabulary: parameters.outputVocabulary)
        let first = forced ?? sampler.choose(logits, history: history)
        history.append(first)
        if eos.contains(first) { finish = .eos } else if history.tokens.count >= maxLength { finish = .length }

        while finish == nil {
            let count = history.tokens.count
            // A round yields at most proposals + 1 tokens; never more than max_length allows.
            let wanted = min(length.current, maxLength - count - 1)
            proposals.removeAll(keepingCapacity: true)
            var proposed = 0
            if wanted > 0 {
                proposed = try draft.propose(count: wanted, history: history, sampler: sampler, probabilities: nil)
                for i in 0..<proposed { proposals.append(history.tokens[count + i]) }
                history.truncate(to: count)
            }
            steps.removeAll(keepingCapacity: true)
            steps.append(Seq2SeqStep(target: cache, source: encoded, token: history.tokens[count - 1], offset: 0))
            for (i, token) in proposals.enumerated() {
                steps.append(Seq2SeqStep(target: cache, source: encoded, token: token, offset: i + 1))
            }
            try model.decode(steps, logits: logits, vocabulary: parameters.outputVocabulary)
            var accepted = 0
            for i in 0...proposed {
                let token = sampler.choose(logits + i * vocabulary, history: history)
                history.append(token)
                if eos.contains(token) { finish = .eos } else if history.tokens.count >= maxLength { finish = .length }
                guard finish == nil, i < proposed, token == proposals[i] else { break }
                accepted += 1
            }
            let kept = count + accepted
            if cache.length > kept { cache.truncate(to: kept) }
            draft.keep(prefix: kept)
            length.record(proposed: proposed, accepted: accepted)
            statistics.rounds += 1
            statistics.proposedTokens += proposed
            statistics.acceptedTokens += accepted
        }
        return (Seq2SeqOutput(ids: history.tokens, finishReason: finish ?? .cancelled, score: nil), statistics)
    }
}
