import Foundation

/// Greedy translation of one source with a draft (exact speculative decoding for an
/// encoder-decoder): the draft proposes target tokens, the decoder checks them all in one
/// pass (one step per token at consecutive offsets), keeps the agreeing prefix plus its own
/// next token, and both target caches are cut back. The ids are `Seq2SeqGenerator`'s greedy
/// ids: the same forced first token, processors, EOS and max_length.
///
/// One sentence on its own: a `Seq2SeqSequence` with the draft (`speculate(with:...)`), stepped
/// by a `Seq2SeqStepper`, as the server steps many.
public final class Seq2SeqSpeculativeDecoder {
    public let model: Seq2SeqModel
    public let draft: SpeculativeDraft
    public let initialDraftTokens: Int
    public let maxDraftTokens: Int
    private let stepper: Seq2SeqStepper

    public init(
        model: Seq2SeqModel, draft: SpeculativeDraft, draftTokens: Int = 4,
        maxDraftTokens: Int = SpeculativeDecoder.defaultMaxDraftTokens
    ) throws {
        guard draftTokens >= 1 else { throw SpeculativeError.invalidDraftTokens(draftTokens) }
        try Seq2SeqSpeculation.check(draft, model: model)
        self.model = model
        self.draft = draft
        self.maxDraftTokens = max(maxDraftTokens, draftTokens)
        initialDraftTokens = draftTokens
        stepper = Seq2SeqStepper(model: model)
    }

    /// Translates `source` greedily; `parameters` must ask for one beam and no sampling.
    public func translate(source: [Int], parameters: Seq2SeqParameters) throws -> (
        output: Seq2SeqOutput, statistics: SpeculativeStatistics
    ) {
        try parameters.validate(vocabularySize: model.vocabularySize)
        let maxLength = try parameters.resolvedMaxLength(maxTargetPositions: model.maxTargetPositions)
        let encoded = try model.encode([source])[0]
        let sequence = Seq2SeqSequence(
            source: encoded, parameters: parameters, maxLength: maxLength, seed: nil, model: model)
        try sequence.speculate(
            with: draft, draftTokens: initialDraftTokens, maxDraftTokens: maxDraftTokens, sourceTokens: source)
        let batch = [sequence]
        while !sequence.isFinished { try stepper.step(batch) }
        return (sequence.output, sequence.speculativeStatistics ?? SpeculativeStatistics())
    }
}
