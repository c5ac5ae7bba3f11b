import HTTPServer

/// The story markup the old `/translate` service protected from translation:
/// finds the `[...]` tags that structure a story and cuts the text around them.
///
/// Stories come as `[Title]: ...`, `[Content]: ...`, `[Content 2]: ...`,
/// `[Option 1]: ...`, `[Option 1 Content]: ...`,
/// `[Option 1 (Continuing from chosen option)]: ...`; the browser splits them
/// on these tags, so they must come back byte for byte. A structural tag is a
/// bracket pair on one line whose inside starts with `Title`, `Content` or
/// `Option` (any case) not followed by another letter, at most 100 characters
/// long; a colon right after the `]` belongs to the tag.
///
/// Deliberate differences from the old service, which swapped every `[...]`
/// for a numeric marker (`12057`), replaced blank lines and periods with cuts,
/// sent ≤200-character chunks, and re-inserted `\n\n` before tags by regex:
/// - only structural tags are protected; other bracketed text (`[laughs]`,
///   `[1]`) is ordinary text that NLLB translates with its sentence;
/// - periods and paragraph breaks inside a tag's text survive;
/// - the output no longer starts with `\n\n` when the text opens with
///   `[Content]`, and `[Title]` gets a blank line before it like every tag
///   (the old regexes skipped it), per the contract in docs/old-services-api.md.
///
/// `LegacyTranslationPlan` builds on this to send sentences to the model and
/// rebuild the translated story.
public enum LegacyTranslationText {
    /// A piece of the text; the pieces, in order, concatenate to the text.
    public enum Segment: Equatable, Sendable {
        /// A structural tag, verbatim, with its colon if one follows it: `[Content 2]:`.
        case tag(String)
        /// Everything between two tags, verbatim (whitespace included).
        case text(String)
    }

    /// The words a structural tag's name starts with.
    static let tagKeywords = ["title", "content", "option"]
    /// Longest tag name accepted, so a stray `[` does not swallow a paragraph.
    static let maxTagNameLength = 100

    /// Cuts `text` into tags and the text between them. Total: text without
    /// tags is one `.text`; empty text gives no segments.
    public static func segments(of text: String) -> [Segment] {
        let scalars = text.unicodeScalars
        var segments: [Segment] = []
        var textStart = scalars.startIndex
        var index = scalars.startIndex
        while index < scalars.endIndex {
            guard scalars[index] == "[", let tagEnd = structuralTagEnd(in: scalars, openingAt: index) else {
                index = scalars.index(after: index)
                continue
            }
            if textStart < index {
                segments.append(.text(String(scalars[textStart..<index])))
            }
            segments.append(.tag(String(scalars[index..<tagEnd])))
            textStart = tagEnd
            index = tagEnd
        }
        if textStart < scalars.endIndex {
            segments.append(.text(String(scalars[textStart..<scalars.endIndex])))
        }
        return segments
    }

    /// Where the tag opening at `open` ends (after its `]` and an optional `:`),
    /// or nil when the brackets there do not hold a structural tag.
    private static func structuralTagEnd(in scalars: String.UnicodeScalarView, openingAt open: String.Index) -> String
        .Index?
    {
        let nameStart = scalars.index(after: open)
        var index = nameStart
        var length = 0
        while index < scalars.endIndex {
            let scalar = scalars[index]
            if scalar == "]" {
                break
            }
            if scalar == "[" || scalar == "\n" || scalar == "\r" || length >= maxTagNameLength {
                return nil
            }
            length += 1
            index = scalars.index(after: index)
        }
        guard index < scalars.endIndex, isStructuralTagName(scalars[nameStart..<index]) else { return nil }
        var end = scalars.index(after: index)
        if end < scalars.endIndex, scalars[end] == ":" {
            end = scalars.index(after: end)
        }
        return end
    }

    /// `Content 2`, `Option 1 (Continuing from chosen option)`, `title`; not
    /// `Contents`, `Optional`, ` Content` or `laughs`.
    static func isStructuralTagName(_ name: Substring.UnicodeScalarView) -> Bool {
        let lowered = String(name).lowercased()
        for keyword in tagKeywords where lowered.hasPrefix(keyword) {
            let rest = lowered.unicodeScalars.dropFirst(keyword.unicodeScalars.count)
            guard let next = rest.first else { return true }
            return !next.properties.isAlphabetic
        }
        return false
    }
}
