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
        precondition(probabilities == nil, "translation drafts are greedy")
        var produced = 0
        while produced < count && canGuess(history: history) {
            steps.removeAll(keepingCapacity: true)
            appendSteps(history: history, last: false, to: &steps)
            appendSteps(history: history, last: true, to: &steps)
            try model.decode(steps, logits: nil, vocabulary: nil)
            try model.score(rows: (steps.count - 1)..<steps.count, logits: logits, vocabulary: outputVocabulary)
            choose(logits: logits, history: history, sampler: sampler)
            produced += 1
        }
        return produced
    }

    /// The output layer's tokens for this sentence (nil: the whole vocabulary), which the guess
    /// rows are scored over.
    public var vocabulary: OutputVocabulary? { outputVocabulary }

    /// Whether the cache has room for the steps towards another guess.
    public func canGuess(history: TokenHistory) -> Bool {
        guard let cache else { preconditionFailure("canGuess() before start()") }
        return history.tokens.count <= cache.capacity
    }

    /// Appends the decoder steps towards the next guess: every history token the cache has not
    /// read, all in one pass, of which only the last one's row (`last`) is scored and the others
    /// (`last` false) only fill the cache. A batching executor runs many sentences' steps in one
    /// pass of `model`, the scored rows together.
    public func appendSteps(history: TokenHistory, last: Bool, to steps: inout [Seq2SeqStep]) {
        guard let cache, let source else { preconditionFailure("appendSteps() before begin() and start()") }
        let unread = history.tokens.count - cache.length
        for offset in (last ? unread - 1..<unread : 0..<unread - 1) {
            steps.append(
                Seq2SeqStep(target: cache, source: source, token: history.tokens[cache.length + offset], offset: offset)
            )
        }
    }

    /// Appends the guess of its scored row `logits` to `history`.
    public func choose(logits: UnsafeMutablePointer<Float>, history: TokenHistory, sampler: Sampler) {
        history.append(sampler.choose(logits, history: history))
    }

    public func keep(prefix length: Int) {
        guard let cache, cache.length > length else { return }
        cache.truncate(to: length)
    }
}
