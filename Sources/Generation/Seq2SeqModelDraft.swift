/// A draft decoder for translation: another encoder-decoder model with the target's vocabulary
/// (the target folder loaded at int8), which encodes the source itself and keeps its own
/// target cache, always a prefix of the translation so far.
public final class Seq2SeqModelDraft: SpeculativeDraft {
    public let model: Seq2SeqModel
    private var source: EncodedSource?
    private var cache: KVCache?
    private var steps: [Seq2SeqStep] = []
    private let logits: UnsafeMutablePointer<Float>
    private var outputVocabulary: OutputVocabulary?

    public init(model: Seq2SeqModel) {
        self.model = model
        logits = .allocate(capacity: model.vocabularySize)
        steps.reserveCapacity(64)
    }

    deinit { logits.deallocate() }

    /// Encodes the sentence about to be translated (before `start`).
    public func begin(source tokens: [Int], outputVocabulary: OutputVocabulary?) throws {
        source = try model.encode([tokens])[0]
        self.outputVocabulary = outputVocabulary
    }

    public func start(capacity: Int) throws {
        if let cache, cache.capacity >= capacity {
            cache.reset()
        } else {
            cache = model.makeTargetCache(capacity: capacity)
        }
    }

    public func propose(
        count: Int, history: TokenHistory, sampler: Sampler, probabilities: UnsafeMutablePointer<Float>?
    ) throws -> Int {
        guard let cache, let source else { preconditionFailure("propose() before begin() and start()") }
        precondition(probabilities == nil, "translation drafts are greedy")
        var produced = 0
        while produced < count && history.tokens.count <= cache.capacity {
            // Every history token the cache has not read, in one pass; only the last needs logits.
            let unread = history.tokens.count - cache.length
            if unread > 1 {
                try read(history, count: unread - 1, logits: nil)
            }
            try read(history, count: 1, logits: logits)
            history.append(sampler.choose(logits, history: history))
            produced += 1
        }
        return produced
    }

    private func read(_ history: TokenHistory, count: Int, logits: UnsafeMutablePointer<Float>?) throws {
        guard let cache, let source else { return }
        steps.removeAll(keepingCapacity: true)
        for offset in 0..<count {
            steps.append(
                Seq2SeqStep(target: cache, source: source, token: history.tokens[cache.length + offset], offset: offset)
            )
        }
        try model.decode(steps, logits: logits, vocabulary: outputVocabulary)
    }

    public func keep(prefix length: Int) {
        guard let cache, cache.length > length else { return }
        cache.truncate(to: length)
    }
}
