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
/// A round is `verifyStep` (one `SequenceStep` with `logitsForEveryToken`), the target's forward
/// pass, then `finishRound`: a batching executor can put the verify step of a sequence beside
/// other sequences' steps in its own forward pass (one decoder per sequence, for its buffers).
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

    /// Before the target's forward pass: the draft's guesses after `sequence`, as the step
    /// that verifies them (the sequence's last token, not yet in `cache`, then the guesses,
    /// logits for every one). The step's tokens live in this decoder: let go of them before
    /// the next round.
    public func verifyStep(_ sequence: GenerationSequence, cache: KVCache) throws -> SequenceStep {
        roundStart = sequence.history.tokens.count
        roundProposed = try propose(sequence, count: length.current)
        verifyTokens.removeAll(keepingCapacity: true)
        verifyTokens.append(sequence.lastToken)
        verifyTokens.append(contentsOf: proposals)
        return SequenceStep(cache: cache, tokens: verifyTokens[...], logitsForEveryToken: true)
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

    /// Asks the draft for up to `count` tokens after the sequence's history (never more than
    /// the budget can use: a round yields at most proposals + 1 tokens), leaving them in
    /// `proposals` and the history as it was.
    func propose(_ sequence: GenerationSequence, count: Int) throws -> Int {
        proposals.removeAll(keepingCapacity: true)
        let history = sequence.history
        let remaining = sequence.maxNewTokens - history.generated.count
        let wanted = min(count, maxDraftTokens, remaining - 1)
        guard wanted > 0 else { return 0 }
        let before = history.tokens.count
        let greedy = sequence.parameters.isGreedy
        let proposed = try draft.propose(
            count: wanted, history: history, sampler: sequence.sampler,
            probabilities: greedy ? nil : draftProbabilities)
        precondition(
            proposed <= wanted && history.tokens.count == before + proposed,
            "a draft appends what it "
                + "proposes")
        for i in 0..<proposed { proposals.append(history.tokens[before + i]) }
        history.truncate(to: before)
        return proposed
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
