import HTTPServer
import Tokenizer

/// One `/translate` request's text, taken apart for the model and ready to be
/// put back together: tags kept aside, the text between them cut into sentences.
///
///     let plan = LegacyTranslationPlan(text: body.Text, limit: .tokens(200) { nllb.encode($0).count })
///     let translated = try await translator.translate(plan.sourceSentences, to: body.Tgt_lang)  // one batch
///     let content = try plan.render(translations: translated)
///     // reply 200 {"Content": content, "Status": true}
///
/// Output layout (`render`): each tag verbatim, preceded by a blank line unless
/// it opens the output, then a space and the translation of the text that
/// followed it; whitespace around that text is not kept, but blank lines and
/// line breaks inside it are (see `SplitText`), and sentences of one line are
/// joined with single spaces. So `[Title]: A\n[Content]: B. C.` comes back as
/// `[Title]: a\n\n[Content]: b. c.`, which is what the old service did and what
/// the browser's `[Content]:` split expects.
public struct LegacyTranslationPlan: Sendable {
    /// The text cut at the tags, as `LegacyTranslationText.segments(of:)` gives it.
    public let segments: [LegacyTranslationText.Segment]
    /// What to translate, in order: every sentence of every text segment, once,
    /// punctuation included. Blank segments contribute nothing; a text with
    /// only tags gives an empty list (render then needs no translations).
    public let sourceSentences: [String]
    /// For each segment, its sentences' split and where they sit in `sourceSentences`.
    private let splits: [(split: SplitText, sentences: Range<Int>)?]

    /// - Parameters:
    ///   - limit: the longest sentence the model should see; longer ones are
    ///     cut (at `;`, `:`, `,`, then spaces) and the pieces rejoined with spaces.
    ///   - splitter: the sentence rules; the default suits English source text.
    public init(text: String, limit: SentenceLengthLimit, splitter: SentenceSplitter = SentenceSplitter()) {
        let segments = LegacyTranslationText.segments(of: text)
        var sourceSentences: [String] = []
        var splits: [(split: SplitText, sentences: Range<Int>)?] = []
        for segment in segments {
            guard case .text(let body) = segment else {
                splits.append(nil)
                continue
            }
            let split = splitter.split(body, limit: limit)
            let first = sourceSentences.count
            sourceSentences.append(contentsOf: split.sentences.map { String($0.text) })
            splits.append((split, first..<sourceSentences.count))
        }
        self.segments = segments
        self.sourceSentences = sourceSentences
        self.splits = splits
    }

    /// The translated story: `translations[i]` stands for `sourceSentences[i]`.
    ///
    /// - Throws: `LegacyTranslationError.translationCountMismatch` unless there
    ///   is exactly one translation per source sentence.
    public func render(translations: [String]) throws -> String {
        guard translations.count == sourceSentences.count else {
            throw LegacyTranslationError.translationCountMismatch(
                expected: sourceSentences.count,
                got: translations.count)
        }
        var output = ""
        for (segment, split) in zip(segments, splits) {
            switch segment {
            case .tag(let tag):
                if !output.isEmpty {
                    output += "\n\n"
                }
                output += tag
            case .text:
                guard let (split, range) = split, !range.isEmpty else { continue }
                let body = try split.reassemble(Array(translations[range]), keepingOuterWhitespace: false)
                if !output.isEmpty {
                    output += " "
                }
                output += body
            }
        }
        return output
    }
}
