/// The target side of one source, a decoder step at a time: greedy decoding or sampling
/// (one row per step, through `Sampler`), or beam search (`numBeams` rows, through
/// `BeamSearchState`), with its own caches. Greedy decoding may take a draft
/// (`speculate(with:...)`): a step then feeds the last token and the draft's guesses, a row each.
///
/// A sequence shares nothing with the others of a step, so its output does not depend on
/// them: `Seq2SeqGenerator` steps the sources of one call in lockstep, the server's
/// executor steps sentences that joined at different times, both through `Seq2SeqStepper`.
public final class Seq2SeqSequence {
    public let source: EncodedSource
    /// The output layer's tokens for this sequence (nil: the whole vocabulary).
    public let vocabulary: OutputVocabulary?
    /// transformers' max_length, decoder start included.
    let maxLength: Int
    let forcedBOSTokenID: Int?
    let eosTokenIDs: [Int]
    private let model: Seq2SeqModel
    /// One per beam (one without beam search); grown when full.
    private var caches: [KVCache]
    private let search: Search
    private let isGreedy: Bool
    private var speculation: Seq2SeqSpeculation?
    public private(set) var finishReason: FinishReason?

    private enum Search {
        case sampled(Sampler, TokenHistory)
        case beams(BeamSearchState, BeamCacheReorder)
    }

    /// - Parameters:
    ///   - parameters: already validated (`Seq2SeqParameters.validate`).
    ///   - maxLength: `parameters.resolvedMaxLength(maxTargetPositions:)`.
    ///   - seed: the sampler's seed when sampling (ignored otherwise).
    public init(
        source: EncodedSource, parameters: Seq2SeqParameters, maxLength: Int, seed: UInt64?, model: Seq2SeqModel
    ) {
        self.source = source
        self.model = model
        self.maxLength = maxLength
        vocabulary = parameters.outputVocabulary
        forcedBOSTokenID = parameters.forcedBOSTokenID
        eosTokenIDs = parameters.generation.eosTokenIDs
        isGreedy = parameters.numBeams == 1 && parameters.generation.isGreedy
        let v = model.vocabularySize
        let capacity = TargetCacheGrowth.initialCapacity(source: source, maxLength: maxLength)
        if parameters.numBeams > 1 {
            let state = BeamSearchState(
                numBeams: parameters.numBeams, vocabularySize: v, maxLength: maxLength,
                decoderStartTokenID: parameters.decoderStartTokenID, lengthPenalty: parameters.lengthPenalty,
                earlyStopping: parameters.earlyStopping, eosTokenIDs: parameters.generation.eosTokenIDs,
                forcedBOSTokenID: parameters.forcedBOSTokenID,
                repetitionPenalty: parameters.generation.repetitionPenalty,
                noRepeatNgramSize: parameters.generation.noRepeatNgramSize,
                outputTokens: parameters.outputVocabulary?.tokens)
            search = .beams(state, BeamCacheReorder(beams: parameters.numBeams))
            caches = (0..<parameters.numBeams).map { _ in model.makeTargetCache(capacity: capacity) }
        } else {
            var own = parameters.generation
            own.seed = seed
            let history = TokenHistory(prompt: [parameters.decoderStartTokenID], vocabularySize: v, reserve: maxLength)
            search = .sampled(Sampler(vocabularySize: v, parameters: own), history)
            caches = [model.makeTargetCache(capacity: capacity)]
        }
    }

    /// Rows this sequence adds to the decoder step being built: its beams, or its last token
    /// and the draft's guesses.
    public var rows: Int { speculation.map { 1 + $0.proposals.count } ?? caches.count }

    /// Decodes speculatively from the next step on: `draft` proposes up to `draftTokens` tokens
    /// (adapting within 1...`maxDraftTokens`), one decoder pass checks them, and the agreeing
    /// prefix plus the model's own next token are kept, so the ids are the greedy ids without
    /// a draft. `sourceTokens` are the encoder's input, which the draft reads.
    /// - Throws: `GenerationError.invalidParameter` unless the sequence is greedy with one beam;
    ///   the draft's errors.
    public func speculate(
        with draft: SpeculativeDraft, draftTokens: Int, maxDraftTokens: Int = SpeculativeDecoder.defaultMaxDraftTokens,
        sourceTokens: [Int]
    ) throws {
        guard isGreedy else {
            throw GenerationError.invalidParameter(
                name: "draft", value: "with beams or sampling",
                reason: "speculative translation is greedy: drop the draft, or --beams and sampling")
        }
        try Seq2SeqSpeculation.check(draft, model: model)
        try Seq2SeqSpeculation.prepare(draft, source: sourceTokens, outputVocabulary: vocabulary)
        try draft.start(capacity: maxLength)
        speculation = Seq2SeqSpeculation(draft: draft, draftTokens: draftTokens, maxDraftTokens: maxDraftTokens)
    }

    /// What the draft proposed and the model kept, when decoding speculatively.
    public var speculativeStatistics: SpeculativeStatistics? { speculation?.statistics }

    public var isFinished: Bool { finishReason != nil }

    /// Whether the next step's choice is forced (the target language), so the output
    /// layer need not score its rows.
    public var isForcedStep: Bool {
        switch search {
        case .sampled(_, let history): return history.tokens.count == 1 && forcedBOSTokenID != nil
        case .beams(let state, _): return state.isForcedStep
        }
    }

    /// With a draft, starts the next step's guesses (see `Seq2SeqSpeculation.beginGuesses`).
    func beginGuesses() throws {
        guard let speculation, case .sampled(let sampler, let history) = search else { return }
        try speculation.beginGuesses(history: history, sampler: sampler, maxLength: maxLength, forced: isForcedStep)
    }

    /// The draft model's next guess for this step: its decoder steps, or nil once the step's
    /// guesses are made. Run its steps in a pass of `draft.model`, then give `takeGuess` the
    /// last step's scored row.
    func nextGuessDraft() -> Seq2SeqModelDraft? {
        guard case .sampled(_, let history) = search else { return nil }
        return speculation?.nextGuessDraft(history: history)
    }

    /// After the draft model's pass, `logits` pointing at this sentence's scored row.
    func takeGuess(logits: UnsafeMutablePointer<Float>) {
        guard case .sampled(let sampler, let history) = search, let draft = speculation?.guessingDraft else {
            preconditionFailure("takeGuess() without a guess under way")
        }
        draft.choose(logits: logits, history: history, sampler: sampler)
    }

    /// The draft still making this step's guesses, without moving on (see `nextGuessDraft`).
    var guessingDraft: Seq2SeqModelDraft? { speculation?.guessingDraft }

    /// The tokens so far, which a guessing draft reads (greedy sequences only).
    var guessHistory: TokenHistory {
        guard case .sampled(_, let history) = search else { preconditionFailure("beam searches do not guess") }
        return history
    }

    /// Appends this sequence's rows to the next decoder step (with a draft, after its guesses
    /// are made), growing caches without room for them.
    public func appendSteps(to steps: inout [Seq2SeqStep]) {
        switch search {
        case .sampled(_, let history):
            TargetCacheGrowth.growIfFull(&caches, rows: rows, model: model, maxLength: maxLength)
            steps.append(
                Seq2SeqStep(target: caches[0], source: source, token: history.tokens[history.tokens.count - 1]))
            for (i, token) in (speculation?.proposals ?? []).enumerated() {
                steps.append(Seq2SeqStep(target: caches[0], source: source, token: token, offset: i + 1))
            }
        case .beams(let state, _):
            TargetCacheGrowth.growIfFull(&caches, model: model, maxLength: maxLength)
            for b in caches.indices {
                steps.append(Seq2SeqStep(target: caches[b], source: source, token: state.lastToken(beam: b)))
            }
        }
    }

    /// Sampling: chooses the next token from this sequence's one row (`logits` is unread on a
    /// forced step); with a draft, from its rows in turn while they agree with the guesses.
    /// Beam search advances through its state's `processRow` and `chooseBeams`.
    func chooseToken(logits: UnsafeMutablePointer<Float>) {
        guard case .sampled(let sampler, let history) = search else { return }
        if isForcedStep {
            append(forcedBOSTokenID!, to: history)
            return
        }
        guard let speculation else {
            append(sampler.choose(logits, history: history), to: history)
            return
        }
        let count = history.tokens.count
        let proposals = speculation.proposals
        var accepted = 0
        for i in 0...proposals.count {
            let token = sampler.choose(logits + i * model.vocabularySize, history: history)
            append(token, to: history)
            guard finishReason == nil, i < proposals.count, token == proposals[i] else { break }
            accepted += 1
        }
        // The cache read the last token and every guess; it keeps what the history kept, but
        // the newest token, which the next step feeds.
        let kept = count + accepted
        if caches[0].length > kept { caches[0].truncate(to: kept) }
        speculation.record(kept: kept, accepted: accepted)
    }

    private func append(_ token: Int, to history: TokenHistory) {
        history.append(token)
        if eosTokenIDs.contains(token) {
            finishReason = .eos
        } else if history.tokens.count >= maxLength {
            finishReason = .length
        }
    }

    /// The beam search state, when searching beams.
    var beamSearch: BeamSearchState? {
        if case .beams(let state, _) = search { return state }
        return nil
    }

    /// Beam search, after every row went through `processRow`: the next beams, and each
    /// beam's cache reordered to follow its parent.
    func chooseBeams(processedLogits: UnsafeMutablePointer<Float>) {
        guard case .beams(let state, let reorder) = search else { return }
        state.choose(processedLogits: processedLogits)
        reorder.apply(&caches, parents: state.parentBeam)
        if state.isDone { finishReason = state.best().finishReason }
    }

    /// Stops the sequence where it is: its output keeps the tokens so far, finish reason
    /// `.cancelled`.
    public func cancel() {
        if finishReason == nil { finishReason = .cancelled }
    }

    /// The generated target: transformers' `generate()` row for this source.
    public var output: Seq2SeqOutput {
        switch search {
        case .sampled(_, let history):
            return Seq2SeqOutput(ids: history.tokens, finishReason: finishReason ?? .cancelled, score: nil)
        case .beams(let state, _):
            return state.best(cancelled: !state.isDone)
        }
    }
}
