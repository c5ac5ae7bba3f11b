/// A text cut into paragraphs and sentences by `SentenceSplitter`, with
/// everything between them kept so the layout can be rebuilt.
///
/// The pieces tile the source exactly:
/// `leadingWhitespace + p0 + p0.separator + p1 + ... + pN + trailingWhitespace`,
/// and inside a paragraph `s0 + gap + s1 + ...` where every gap is whitespace
/// without a line break. `reassemble(_:joining:)` relies on that.
public struct SplitText: Sendable {
    /// One sentence, or one piece of an over-long sentence.
    public struct Sentence: Sendable, Equatable {
        /// Where it lies in `SplitText.source`.
        public let range: Range<String.Index>
        /// The same place as UTF-8 byte offsets into the source.
        public let utf8Offsets: Range<Int>
        /// The sentence as it appears in the source, punctuation included,
        /// without surrounding whitespace.
        public let text: Substring
        /// True when the length limit cut a longer sentence into pieces (all
        /// pieces of it are marked, the first included).
        public let isLengthFragment: Bool
    }

    /// One line of text with content (blank lines only separate paragraphs).
    public struct Paragraph: Sendable {
        /// From its first to its last non-whitespace character.
        public let range: Range<String.Index>
        /// Never empty.
        public let sentences: [Sentence]
        /// The whitespace up to the next paragraph (at least one line break:
        /// `"\n"`, `"\n\n"`, `"\r\n  \r\n"`...); empty for the last paragraph,
        /// whose trailing whitespace is `SplitText.trailingWhitespace`.
        public let separator: Substring
    }

    /// How sentences of one paragraph are put back together.
    public enum SentenceJoin: Sendable {
        /// A single space between sentences, whatever the source had. Right for
        /// translated text in space-separated scripts; a CJK target reads fine
        /// with it too, so the server does not need to know the target script.
        case singleSpace
        /// The source's own whitespace between the sentences (none after a CJK
        /// full stop, two spaces if the source had two). With the original
        /// sentences this rebuilds the source byte for byte.
        case originalWhitespace
    }

    /// The text that was split.
    public let source: String
    /// Whitespace (blank lines included) before the first paragraph.
    public let leadingWhitespace: Substring
    /// The paragraphs, in order; empty when the text is blank.
    public let paragraphs: [Paragraph]
    /// Whitespace after the last paragraph.
    public let trailingWhitespace: Substring

    /// All sentences, paragraph after paragraph: what to send to the model.
    public var sentences: [Sentence] {
        paragraphs.flatMap(\.sentences)
    }

    /// Rebuilds the text with `replacements[i]` in place of `sentences[i]`,
    /// keeping the paragraph separators (and, if asked, the outer whitespace)
    /// of the source verbatim.
    ///
    /// - Throws: `SegmentationError.sentenceCountMismatch` unless there is
    ///   exactly one replacement per sentence.
    public func reassemble(
        _ replacements: [String], joining join: SentenceJoin = .singleSpace,
        keepingOuterWhitespace: Bool = true
    ) throws -> String {
        let expected = paragraphs.reduce(0) { $0 + $1.sentences.count }
        guard replacements.count == expected else {
            throw SegmentationError.sentenceCountMismatch(expected: expected, got: replacements.count)
        }
        var output = keepingOuterWhitespace ? String(leadingWhitespace) : ""
        var next = 0
        for paragraph in paragraphs {
            for (position, sentence) in paragraph.sentences.enumerated() {
                if position > 0 {
                    switch join {
                    case .singleSpace:
                        output += " "
                    case .originalWhitespace:
                        output += source[paragraph.sentences[position - 1].range.upperBound..<sentence.range.lowerBound]
                    }
                }
                output += replacements[next]
                next += 1
            }
            output += paragraph.separator
        }
        if keepingOuterWhitespace {
            output += trailingWhitespace
        }
        return output
    }
}
