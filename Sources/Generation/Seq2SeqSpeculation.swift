/// The draft of one greedy `Seq2SeqSequence` and what it proposed: the guesses of the step
/// being built, the adaptive guess count, and the running tally.
final class Seq2SeqSpeculation {
    let draft: SpeculativeDraft
    private(set) var proposals: [Int] = []
    private var length: DraftLength
    private(set) var statistics = SpeculativeStatistics()

    init(draft: SpeculativeDraft, draftTokens: Int, maxDraftTokens: Int) {
        self.draft = draft
        length = DraftLength(initial: draftTokens, maximum: max(maxDraftTokens, draftTokens))
        proposals.reserveCapacity(length.maximum)
    }

    /// The draft's guesses after `history`, kept in `proposals` and taken back out of the
    /// history; none on a forced step, nor past max_length (a step yields guesses + 1 tokens).
    func propose(history: TokenHistory, sampler: Sampler, maxLength: Int, forced: Bool) throws {
        proposals.removeAll(keepingCapacity: true)
        let count = history.tokens.count
        let wanted = min(length.current, maxLength - count - 1)
        guard !forced, wanted > 0 else { return }
        let proposed = try draft.propose(count: wanted, history: history, sampler: sampler, probabilities: nil)
        for i in 0..<proposed { proposals.append(history.tokens[count + i]) }
        history.truncate(to: count)
    }

    /// After the verify step: the first `kept` tokens of the history are final.
    func record(kept: Int, accepted: Int) {
        draft.keep(prefix: kept)
        length.record(proposed: proposals.count, accepted: accepted)
        statistics.rounds += 1
        statistics.proposedTokens += proposals.count
        statistics.acceptedTokens += accepted
        proposals.removeAll(keepingCapacity: true)
    }

    /// A model draft must score the target's vocabulary.
    static func check(_ draft: SpeculativeDraft, model: Seq2SeqModel) throws {
        switch draft {
        case let other as Seq2SeqModelDraft where other.model.vocabularySize != model.vocabularySize:
            throw SpeculativeError.vocabularyMismatch(target: model.vocabularySize, draft: other.model.vocabularySize)
        case let pair as FallbackDraft:
            try check(pair.first, model: model)
            try check(pair.second, model: model)
        default: break
        }
    }

    /// Shows each draft the source: model drafts encode it, n-gram drafts search it.
    static func prepare(_ draft: SpeculativeDraft, source: [Int], outputVocabulary: OutputVocabulary?) throws {
        switch draft {
        case let model as Seq2SeqModelDraft: try model.begin(source: source, outputVocabulary: outputVocabulary)
        case let ngram as NGramDraft: ngram.reference = source
        case let pair as FallbackDraft:
            try prepare(pair.first, source: source, outputVocabulary: outputVocabulary)
            try prepare(pair.second, source: source, outputVocabulary: outputVocabulary)
        default: break
        }
    }
}
