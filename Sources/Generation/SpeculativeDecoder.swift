import Foundation
import Kernels
import Tokenizer

/// What a speculative generation returns: the generation itself and how the draft fared.
public struct SpeculativeResult: Sendable {
    public let generation: GenerationResult
    public let statistics: SpeculativeStatistics
}

/// Generates one sequence with a target model and a draft: each round the draft proposes up
/// to k tokens, the target reads the last token and all of them in one forward pass (k+1 rows
/// of logits, one read of its weights), keeps the longest prefix it agrees with plus one token
/// of its own, and both caches are cut back past the rejected tokens.
///
/// Greedy output is the target's greedy output (its processed argmax at every position);
/// sampled output is distributed exactly as the target's (`SpeculativeSampling`). The
/// sampler's processors run on the draft's and the target's rows alike, over the same history,
/// and tokens go through `GenerationSequence` as in `TextGenerator`: EOS, stop strings, the
/// budget and logprobs behave as in the plain loop.
///
/// A round is the draft's guesses (`beginRound`, then `draftStep`/`takeDraftGuess` while a
/// model draft guesses), `verifyStepOfGuesses` (one `SequenceStep` with `logitsForEveryToken`), the
/// target's forward pass, then `finishRound`. A batching executor can put each of these steps
/// beside other sequences' steps in one forward pass of the draft or the target (one decoder
/// per sequence, for its buffers).
public final class SpeculativeDecoder {
    public let target: CausalLanguageModel
    public let draft: SpeculativeDraft
    public let tokenizer: Tokenizer
    /// Tokens proposed per round at first, and the most ever proposed.
    public let initialDraftTokens: Int
    public let maxDraftTokens: Int
    /// What keeps a verify pass (proposals + 1 rows) within the few-rows kernels, which read
    /// each weight once for all rows.
    public static let defaultMaxDraftTokens = fewRowsLimit - 1

    private let vocabulary: Int
    /// (maxDraftTokens + 1) rows of target logits.
    private let logits: UnsafeMutablePointer<Float>
    /// maxDraftTokens rows of the draft's processed probabilities (sampling only).
    private let draftProbabilities: UnsafeMutablePointer<Float>
    /// The target's processed probabilities of the row being checked.
    private let targetProbabilities: UnsafeMutablePointer<Float>
    private var proposals: [Int] = []
    private var verifyTokens: [Int] = []
    private var steps: [SequenceStep] = []
    private var draftSteps: [SequenceStep] = []
    /// This round: the guesses wanted, and the model draft still making them (nil when the
    /// guesses are made or needed no model).
    private var wantedGuesses = 0
    private var guessingDraft: ModelDraft?
    /// The current sequence's draft length, statistics, and where its round started.
    private var length: DraftLength
    public private(set) var statistics = SpeculativeStatistics()
    private var roundStart = 0
    private var roundProposed = 0

    /// `draftTokens` is where the adaptive draft length starts; it moves between 1 and
    /// `maxDraftTokens`.
    public init(
        target: CausalLanguageModel, draft: SpeculativeDraft, tokenizer: Tokenizer,
        draftTokens: Int = 4, maxDraftTokens: Int = defaultMaxDraftTokens
    ) throws {
        guard target.writesLogitsForEveryToken else { throw SpeculativeError.targetCannotVerify }
        guard draftTokens >= 1 else { throw SpeculativeError.invalidDraftTokens(draftTokens) }
        for model in Self.models(of: draft) where model.vocabularySize != target.vocabularySize {
            throw SpeculativeError.vocabularyMismatch(target: target.vocabularySize, draft: model.vocabularySize)
        }
        self.target = target
        self.draft = draft
        self.tokenizer = tokenizer
        self.maxDraftTokens = max(maxDraftTokens, draftTokens)
        initialDraftTokens = draftTokens
        length = DraftLength(initial: draftTokens, maximum: self.maxDraftTokens)
        vocabulary = target.vocabularySize
        logits = .allocate(capacity: (self.maxDraftTokens + 1) * vocabulary)
        draftProbabilities = .allocate(capacity: self.maxDraftTokens * vocabulary)
        targetProbabilities = .allocate(capacity: vocabulary)
        proposals.reserveCapacity(self.maxDraftTokens)
        verifyTokens.reserveCapacity(self.maxDraftTokens + 1)
        steps.reserveCapacity(1)
        draftSteps.reserveCapacity(1)
    }

    /// The models a draft runs (none for n-grams).
    static func models(of draft: SpeculativeDraft) -> [CausalLanguageModel] {
        if let model = draft as? ModelDraft { return [model.model] }
        if let pair = draft as? FallbackDraft { return models(of: pair.first) + models(of: pair.second) }
        return []
    }

    deinit {
        logits.deallocate()
        draftProbabilities.deallocate()
        targetProbabilities.deallocate()
    }

    /// Runs a generation to the end, like `TextGenerator.generate`; `onStep` sees every
    /// token as it is kept, and returning false cancels.
    public func generate(
        promptIDs: [Int], parameters: GenerationParameters, onStep: ((GenerationStep) -> Bool)? = nil
    ) throws -> SpeculativeResult {
        let sequence = try GenerationSequence(
            promptIDs: promptIDs, parameters: parameters, tokenizer: tokenizer,
            vocabularySize: vocabulary, maxPositions: target.maxPositions)
        let capacity = promptIDs.count + sequence.maxNewTokens
        guard capacity <= target.maxPositions else {
            throw SpeculativeError.keepRecentUnsupported(
                promptTokens: promptIDs.count, newTokens: sequence.maxNewTokens, maxPositions: target.maxPositions)
        }
        var timings = GenerationTimings()
        timings.promptTokens = promptIDs.count
        let cache = target.makeCache(capacity: capacity)
        try begin(capacity: capacity)

        if !sequence.isFinished {
            let start = DispatchTime.now()
            steps = [SequenceStep(cache: cache, tokens: promptIDs[...])]
            try target.forward(steps, logits: logits)
            steps[0].tokens = []
            timings.prefillMs = milliseconds(since: start)
        }
        let decodeStart = DispatchTime.now()
        var cancelled = false
        if !sequence.isFinished {
            let step = sequence.advance(logits: logits)
            if let onStep, !onStep(step) { cancelled = true }
        }
        while !sequence.isFinished && !cancelled {
            steps[0] = try verifyStep(sequence, cache: cache)
            try target.forward(steps, logits: logits)
            steps[0].tokens = []
            cancelled = !finishRound(sequence, cache: cache, logits: logits, onStep: onStep)
        }
        if cancelled { sequence.cancel() }
        timings.decodeMs = milliseconds(since: decodeStart)
        timings.generatedTokens = sequence.generatedIDs.count
        let decoded = max(0, timings.generatedTokens - 1)  // the first token came with the prompt
        timings.decodeTokensPerSecond = timings.decodeMs > 0 ? Double(decoded) / (timings.decodeMs / 1000) : 0
        let generation = GenerationResult(
            promptIDs: promptIDs, generatedIDs: sequence.generatedIDs, text: sequence.text,
            finishReason: sequence.finishReason ?? .cancelled, stopString: sequence.stopString,
            seed: sequence.sampler.seed, timings: timings)
        return SpeculativeResult(generation: generation, statistics: statistics)
    }

    // MARK: - One round, for a loop that batches the target's forward passes

    /// Starts a sequence whose target cache holds at most `capacity` positions: the draft
    /// starts too, the draft length goes back to `initialDraftTokens`, the statistics to zero.
    public func begin(capacity: Int) throws {
        try draft.start(capacity: capacity)
        length = DraftLength(initial: initialDraftTokens, maximum: maxDraftTokens)
        statistics = SpeculativeStatistics()
    }

    /// A round starts before the target's forward pass: the draft guesses after `sequence`
    /// (at most what the budget can use: a round yields at most guesses + 1 tokens). Guesses that
    /// need no model (n-grams) are made here; a model draft's are made by `draftStep` and
    /// `takeDraftGuess`, one guess per forward pass of `draftModel`, which a batching executor
    /// runs for every sequence's draft at once.
    public func beginRound(_ sequence: GenerationSequence) throws {
        let history = sequence.history
        roundStart = history.tokens.count
        roundProposed = 0
        proposals.removeAll(keepingCapacity: true)
        guessingDraft = nil
        let remaining = sequence.maxNewTokens - history.generated.count
        wantedGuesses = min(length.current, maxDraftTokens, remaining - 1)
        guard wantedGuesses > 0 else { return }
        let free = try draft.proposeWithoutModel(
            count: wantedGuesses, history: history, sampler: sequence.sampler,
            probabilities: sequence.parameters.isGreedy ? nil : draftProbabilities)
        guessingDraft = free.modelDraft
        collectGuesses(history, proposed: free.proposed)
    }

    /// The model whose forward pass `draftStep` needs this round; nil once the guesses are made.
    public var draftModel: CausalLanguageModel? { guessingDraft?.model }

    /// The draft model's step towards this round's next guess, or nil when the round has all
    /// its guesses. Run it in a forward pass of `draftModel`, let go of it, then hand its
    /// logits row to `takeDraftGuess`.
    public func draftStep(_ sequence: GenerationSequence) -> SequenceStep? {
        guard let guessingDraft else { return nil }
        let guessed = sequence.history.tokens.count - roundStart
        if guessed < wantedGuesses, let step = guessingDraft.nextStep(history: sequence.history) { return step }
        self.guessingDraft = nil
        collectGuesses(sequence.history, proposed: guessed)
        return nil
    }

    /// After the draft model's forward pass of `draftStep`, `logits` pointing at its row.
    public func takeDraftGuess(_ sequence: GenerationSequence, logits: UnsafeMutablePointer<Float>) {
        guard let guessingDraft else { preconditionFailure("takeDraftGuess() without a draft step") }
        let guessed = sequence.history.tokens.count - roundStart
        let row = sequence.parameters.isGreedy ? nil : draftProbabilities + guessed * vocabulary
        guessingDraft.choose(logits: logits, history: sequence.history, sampler: sequence.sampler, probabilities: row)
    }

    /// A whole round's step for a loop that batches only the target: the draft guesses by
    /// forward passes of this sequence alone, then `verifyStepOfGuesses`.
    public func verifyStep(_ sequence: GenerationSequence, cache: KVCache) throws -> SequenceStep {
        try guessAlone(sequence)
        return verifyStepOfGuesses(sequence, cache: cache)
    }

    private func guessAlone(_ sequence: GenerationSequence) throws {
        try beginRound(sequence)
        while let model = draftModel, queueDraftStep(sequence) {
            try model.forward(draftSteps, logits: logits)
            draftSteps.removeAll(keepingCapacity: true)  // before the guess is appended to the history
            takeDraftGuess(sequence, logits: logits)
        }
    }

    /// Puts the draft step in `draftSteps`, holding no other reference to the history: a live
    /// slice would make the guess's append copy it.
    private func queueDraftStep(_ sequence: GenerationSequence) -> Bool {
        draftSteps.removeAll(keepingCapacity: true)
        guard let step = draftStep(sequence) else { return false }
        draftSteps.append(step)
        return true
    }

    /// Once the round has its guesses, the step that verifies them in the target's forward pass:
    /// the sequence's last token, not yet in `cache`, then the guesses, logits for every one.
    /// The step's tokens live in this decoder: let go of them before the next round.
    public func verifyStepOfGuesses(_ sequence: GenerationSequence, cache: KVCache) -> SequenceStep {
        precondition(guessingDraft == nil, "verifyStepOfGuesses() while the draft is still guessing")
        verifyTokens.removeAll(keepingCapacity: true)
        verifyTokens.append(sequence.lastToken)
        verifyTokens.append(contentsOf: proposals)
        return SequenceStep(cache: cache, tokens: verifyTokens[...], logitsForEveryToken: true)
    }

    /// Moves the `proposed` guesses the draft appended to the history into `proposals`, leaving
    /// the history as the round found it.
    private func collectGuesses(_ history: TokenHistory, proposed: Int) {
        precondition(
            proposed <= wantedGuesses && history.tokens.count == roundStart + proposed,
            "a draft appends what it proposes")
        for i in 0..<proposed { proposals.append(history.tokens[roundStart + i]) }
        history.truncate(to: roundStart)
        roundProposed = proposed
    }

    /// After the forward pass, `logits` pointing at the step's first row: keeps the agreeing
    /// guesses and one token of the target's own through `sequence` (each to `onStep`), cuts
    /// `cache` and the draft back to what was kept, and adapts the draft length. Returns false
    /// when `onStep` asked to stop.
    public func finishRound(
        _ sequence: GenerationSequence, cache: KVCache, logits: UnsafeMutablePointer<Float>,
        onStep: ((GenerationStep) -> Bool)?
    ) -> Bool {
        let outcome = settle(sequence, logits: logits, onStep: onStep)
        // Both caches keep the last token and the accepted guesses; the target's own token
        // after them is read next round.
        let kept = roundStart + outcome.accepted
        if cache.length > kept { cache.truncate(to: kept) }
        draft.keep(prefix: kept)
        length.record(proposed: roundProposed, accepted: outcome.accepted)
        statistics.rounds += 1
        statistics.proposedTokens += roundProposed
        statistics.acceptedTokens += outcome.accepted
        return !outcome.cancelled
    }

    /// Walks the verify pass's rows (row i scores the token after proposal i, row 0 the token
    /// after the last kept one): keeps proposals while the target agrees, then one token of
    /// the target's own. Returns how many proposals were kept.
    func settle(
        _ sequence: GenerationSequence, logits: UnsafeMutablePointer<Float>, onStep: ((GenerationStep) -> Bool)?
    ) -> (accepted: Int, cancelled: Bool) {
        let greedy = sequence.parameters.isGreedy
        let sampler = sequence.sampler
        let history = sequence.history
        var accepted = 0
        for i in 0...proposals.count {
            let row = logits + i * vocabulary
            let step: GenerationStep
            var keptProposal = false
            if greedy || i == proposals.count {
                // The plain loop's own choice (processed argmax, or a draw after every proposal held).
                step = sequence.advance(logits: row)
                keptProposal = i < proposals.count && step.token == proposals[i]
            } else {
                sampler.applyPenalties(row, history: history)
                sampler.applyWarpers(row)
                SpeculativeSampling.probabilities(out: targetProbabilities, scores: row, count: vocabulary)
                let q = draftProbabilities + i * vocabulary
                let token: Int
                if SpeculativeSampling.accepts(
                    proposals[i], target: targetProbabilities, draft: q, uniform: sampler.uniform())
                {
                    token = proposals[i]
                    keptProposal = true
                } else {
                    token = SpeculativeSampling.drawResidual(
                        target: targetProbabilities, draft: q, count: vocabulary,
                        uniform: sampler.uniform())
                }
                step = sequence.append(token, processedLogits: row)
            }
            if keptProposal { accepted += 1 }
            if let onStep, !onStep(step) { return (accepted, true) }
            if sequence.isFinished || !keptProposal { break }
        }
        return (accepted, false)
    }
}
