/// The seam between the legacy handlers and the old services' text rules.
///
/// The real rules live in `StoryFormatter.swift` and `LegacyTranslationText.swift` (plus
/// the sentence splitter in `Tokenizer/Segmentation/`), written separately. Until they are
/// merged, these two functions call the simple stand-ins in `LegacyTextPlaceholders.swift`;
/// on merge, point each function at the real implementation and delete that file.
enum LegacyText {
    /// The old story services' post-processing of the decoded output (prompt included):
    /// keep what follows "Story:" (medium: "### Story:"), then `[Content]: ` paragraphs.
    static func formatStory(_ text: String, variant: LegacyStoryVariant) -> String {
        PlaceholderLegacyText.formatStory(text, variant: variant)
    }

    /// The old translator's preparation of `Text`: the segments to translate (one batch,
    /// in order; `[...]` tags are never among them) and how to put the translations back
    /// (tags restored, a blank line before each tag, paragraphs kept).
    static func planTranslation(_ text: String) -> LegacyTranslationPlan {
        PlaceholderLegacyText.planTranslation(text)
    }
}

/// What `LegacyText.planTranslation` returns.
struct LegacyTranslationPlan {
    /// Texts for the backend, in order.
    let segments: [String]
    /// Builds the reply text from one translation per segment, in order.
    let assemble: ([String]) -> String
}
