/// A draft that is itself a language model sharing the target's tokenizer: the target loaded
/// again at int8 or f16, or a smaller model of the same family.
///
/// Its cache always holds a prefix of the sequence's history; each proposal first reads the
/// history tokens it has not seen yet (the prompt the first time, then the target's last one
/// or two tokens), then one token per proposal.
public final class ModelDraft: SpeculativeDraft {
    public let model: CausalLanguageModel
    private var cache: KVCache?
    private var steps: [SequenceStep] = []
    private let logits: UnsafeMutablePointer<Float>

    public init(model: CausalLanguageModel) {
        self.model = model
        logits = .allocate(capacity: model.vocabularySize)
        steps.reserveCapacity(1)
    }

    deinit { logits.deallocate() }

    public func start(capacity: Int) throws {
        guard capacity <= model.maxPositions else {
            throw SpeculativeError.draftContextTooShort(needed: capacity, draftPositions: model.maxPositions)
        }
        if let cache, cache.capacity >= capacity {
            cache.reset()
        } else {
            cache = model.makeCache(capacity: capacity)
        }
    }

    public func propose(
        count: Int, history: TokenHistory, sampler: Sampler, probabilities: UnsafeMutablePointer<Float>?
    ) throws -> Int {
        var produced = 0
        while produced < count, queueNextStep(history) {
            try model.forward(steps, logits: logits)
            // Let go of the history's buffer before appending to it: a live slice would make
            // the append copy it.
            steps.removeAll(keepingCapacity: true)
            choose(
                logits: logits, history: history, sampler: sampler,
                probabilities: probabilities.map { $0 + produced * model.vocabularySize })
            produced += 1
        }
        return produced
    }

    /// `nextStep` in `steps`, held nowhere else (see `propose`).
    private func queueNextStep(_ history: TokenHistory) -> Bool {
        steps.removeAll(keepingCapacity: true)
        guard let step = nextStep(history: history) else { return false }
        steps.append(step)
        return true
    }

    /// The draft model's step towards the next guess: the history tokens its cache has not read
    /// yet (the prompt the first time, then the target's last one or two tokens, then each
    /// guess). Nil when the cache cannot take them. Drop the step before `choose` appends.
    public func nextStep(history: TokenHistory) -> SequenceStep? {
        guard let cache else { preconditionFailure("nextStep() before start()") }
        guard history.tokens.count <= cache.capacity else { return nil }
        return SequenceStep(cache: cache, tokens: history.tokens[cache.length...])
    }

    /// After the draft model read `nextStep`, with `logits` its row (processed in place):
    /// appends the guess, chosen with the target's processors. With `probabilities` (sampling)
    /// the guess is drawn from its processed distribution, which is written there; without it
    /// (greedy) the guess is the processed argmax.
    public func choose(
        logits: UnsafeMutablePointer<Float>, history: TokenHistory, sampler: Sampler,
        probabilities: UnsafeMutablePointer<Float>?
    ) {
        let token: Int
        if let probabilities {
            sampler.applyPenalties(logits, history: history)
            sampler.applyWarpers(logits)
            SpeculativeSampling.probabilities(out: probabilities, scores: logits, count: model.vocabularySize)
            token = SpeculativeSampling.draw(probabilities, count: model.vocabularySize, uniform: sampler.uniform())
        } else {
            token = sampler.choose(logits, history: history)
        }
        history.append(token)
    }

    public func keep(prefix length: Int) {
        guard let cache, cache.length > length else { return }
        cache.truncate(to: length)
    }
}
