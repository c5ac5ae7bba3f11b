/// Proposes the tokens a speculative decoder asks its target model to check.
///
/// The decoder calls `start` once per sequence, then repeats: `propose` (the draft appends its
/// guesses to the history, which the decoder takes back after reading them), a verify pass on
/// the target, and `keep(prefix:)` with how much of the history survived.
public protocol SpeculativeDraft: AnyObject {
    /// Prepares for a new sequence of at most `capacity` positions (prompt and new tokens).
    func start(capacity: Int) throws
    /// Appends up to `count` proposed tokens to `history` and returns how many it appended
    /// (0 when it has no guess). Model drafts choose with `sampler`'s processors, as the
    /// target will: with `probabilities` (sampling) each proposal is drawn from its processed
    /// distribution, which is written there as row i (vocabularySize floats); without it
    /// (greedy) each is the processed argmax.
    func propose(count: Int, history: TokenHistory, sampler: Sampler, probabilities: UnsafeMutablePointer<Float>?)
        throws -> Int
    /// Only the first `length` tokens of the history are final: forget anything after them.
    func keep(prefix length: Int)
}

extension SpeculativeDraft {
    /// The round's guesses that need no forward pass, appended to `history` as `propose` does,
    /// or the model draft whose steps make the round's guesses instead (nothing appended).
    /// A batching executor runs the steps of many sequences' model drafts in one forward pass
    /// of the draft model (`SpeculativeDecoder.draftStep`).
    public func proposeWithoutModel(
        count: Int, history: TokenHistory, sampler: Sampler, probabilities: UnsafeMutablePointer<Float>?
    ) throws -> (proposed: Int, modelDraft: ModelDraft?) {
        try proposeWithoutModel(
            ModelDraft.self, count: count, history: history, sampler: sampler, probabilities: probabilities)
    }

    /// `proposeWithoutModel` for drafts whose model steps are of type `Stepped` (a decoder-only
    /// `ModelDraft`, or an encoder-decoder's `Seq2SeqModelDraft`).
    public func proposeWithoutModel<Stepped: SpeculativeDraft>(
        _ stepped: Stepped.Type, count: Int, history: TokenHistory, sampler: Sampler,
        probabilities: UnsafeMutablePointer<Float>?
    ) throws -> (proposed: Int, modelDraft: Stepped?) {
        if let model = self as? Stepped { return (0, model) }
        if let pair = self as? FallbackDraft {
            let first = try pair.first.proposeWithoutModel(
                stepped, count: count, history: history, sampler: sampler, probabilities: probabilities)
            if first.proposed > 0 || first.modelDraft != nil { return first }
            return try pair.second.proposeWithoutModel(
                stepped, count: count, history: history, sampler: sampler, probabilities: probabilities)
        }
        return (try propose(count: count, history: history, sampler: sampler, probabilities: probabilities), nil)
    }
}
