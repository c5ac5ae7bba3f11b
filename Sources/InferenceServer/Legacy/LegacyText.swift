import HTTPServer
import Tokenizer

/// The legacy handlers' entry to the old services' text rules (`StoryFormatter`,
/// `LegacyTranslationPlan` over the sentence splitter).
enum LegacyText {
    /// The old story services' post-processing of the decoded output (prompt included).
    static func formatStory(_ text: String, variant: LegacyStoryVariant) -> String {
        StoryFormatter.content(fromDecodedOutput: text, variant: variant == .medium ? .medium : .small)
    }

    /// Sentences longer than this are cut at the best boundary before translation
    /// (the backend splits further by tokens if the model's positions need it).
    static let sentenceCharacterLimit = 600

    /// The old translator's preparation of `Text`: `[...]` tags protected, the rest cut
    /// into sentences (punctuation kept) to translate as one batch.
    static func planTranslation(_ text: String) -> LegacyTranslationPlan {
        LegacyTranslationPlan(text: text, limit: .characters(sentenceCharacterLimit))
    }
}
