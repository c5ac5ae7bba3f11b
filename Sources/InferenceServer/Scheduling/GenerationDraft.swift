import Generation

/// The draft of exact speculative decoding for a served generation model: every sequence in
/// the running batch gets its own draft from `makeDraft` (its own draft cache, over one shared
/// draft model, whose steps for every sequence run as one batch), and its verify pass joins
/// the other sequences' steps in the batch's forward pass. Greedy ids are the target's own, as
/// without a draft; sampled tokens are distributed as the target's. A translation model's
/// executor takes the same value for its greedy sentences (`TranslationStepper`), with
/// encoder-decoder drafts, whose model steps also run for every sentence at once.
///
/// Sendable by hand: the draft models `makeDraft` captures are driven only on the executor's
/// thread, which is the only caller of `makeDraft`.
public struct GenerationDraft: @unchecked Sendable {
    /// What the operator named ("int8", "ngram", a folder), for logs and the banner.
    public let label: String
    /// Tokens proposed per round at first (each sequence adapts it).
    public let draftTokens: Int
    /// A fresh draft for one sequence; called on the executor's thread only.
    public let makeDraft: () -> SpeculativeDraft

    public init(label: String, draftTokens: Int = 4, makeDraft: @escaping () -> SpeculativeDraft) {
        self.label = label
        self.draftTokens = draftTokens
        self.makeDraft = makeDraft
    }
}
