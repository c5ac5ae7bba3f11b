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

    /// The model draft still making this step's guesses, one per pass of its model.
    private(set) var guessingDraft: Seq2SeqModelDraft?
    private var wanted = 0
    private var roundStart = 0

    /// Starts the step's guesses after `history`: guesses that need no model (n-grams) are
    /// made here; a model draft's are made by `nextGuessDraft` and `takeGuess`, one per pass
    /// of its model, which `Seq2SeqStepper` runs for every sentence's draft at once. None on a
    /// forced step, nor past max_length (a step yields guesses + 1 tokens).
    func beginGuesses(history: TokenHistory, sampler: Sampler, maxLength: Int, forced: Bool) throws {
        proposals.removeAll(keepingCapacity: true)
        guessingDraft = nil
        roundStart = history.tokens.count
        wanted = min(length.current, maxLength - roundStart - 1)
        guard !forced, wanted > 0 else { return }
        let free = try draft.proposeWithoutModel(
            Seq2SeqModelDraft.self, count: wanted, history: history, sampler: sampler, probabilities: nil)
        guessingDraft = free.modelDraft
        if guessingDraft == nil { collectGuesses(history) }
    }

    /// The model draft, while the step wants another guess from it; once not, the guesses are
    /// taken out of the history into `proposals`.
    func nextGuessDraft(history: TokenHistory) -> Seq2SeqModelDraft? {
        guard let draft = guessingDraft else { return nil }
        if history.tokens.count - roundStart < wanted && draft.canGuess(history: history) { return draft }
        guessingDraft = nil
        collectGuesses(history)
        return nil
    }

    private func collectGuesses(_ history: TokenHistory) {
        for i in roundStart..<history.tokens.count { proposals.append(history.tokens[i]) }
        history.truncate(to: roundStart)
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
