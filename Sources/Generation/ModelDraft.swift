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
        guard let cache else { preconditionFailure("propose() before start()") }
        let vocabulary = model.vocabularySize
        var produced = 0
        // The cache must take every history token it has not read yet.
        while produced < count && history.tokens.count <= cache.capacity {
            steps.removeAll(keepingCapacity: true)
            steps.append(SequenceStep(cache: cache, tokens: history.tokens[cache.length...]))
            try model.forward(steps, logits: logits)
            // Let go of the history's buffer before appending to it: a live slice would make
            // the append copy it.
            steps[0].tokens = []
            let token: Int
            if let probabilities {
                let row = probabilities + produced * vocabulary
                sampler.applyPenalties(logits, history: history)
                sampler.applyWarpers(logits)
                SpeculativeSampling.probabilities(out: row, scores: logits, count: vocabulary)
                token = SpeculativeSampling.draw(row, count: vocabulary, uniform: sampler.uniform())
            } else {
                token = sampler.choose(logits, history: history)
            }
            history.append(token)
            produced += 1
        }
        return produced
    }

    public func keep(prefix length: Int) {
        guard let cache, cache.length > length else { return }
        cache.truncate(to: length)
    }
}
