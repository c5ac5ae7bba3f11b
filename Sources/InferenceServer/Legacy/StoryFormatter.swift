import HTTPServer

/// The old GPT-2 story services' post-processing, reproduced exactly: turns the
/// decoded model output into the `Content` field of `POST /generate_story`.
///
/// The steps, in the old services' order (reference:
/// `scripts/fixtures/legacy_story_reference.py`, compared by `StoryFormatterTests`):
/// 1. If the text contains `Story:`, keep the part between the first and the
///    second `Story:` (Python's `text.split("Story:")[1]`): a later `Story:`
///    cuts the story there. Without any `Story:` the whole text is kept,
///    prompt included.
/// 2. Split into words at any run of Python whitespace (`str.split()`).
/// 3. Group words into paragraphs: a paragraph closes after the first word
///    ending in `.` once it holds at least 100 words. Words left over at the end
///    (no closing period) form the last paragraph; no word is dropped.
/// 4. Join each paragraph's words with single spaces, the paragraphs with
///    `"\n\n[Content]: "`, and prefix the whole with `"[Content]: "`.
///
/// The medium service also cut the formatted text at `### Story:` and trimmed
/// it. Applied after step 1 that can never change anything (see `Variant`), but
/// it is kept, in its original place, so the port stays line-for-line faithful.
///
/// Usage in the handler, with the decoded output (prompt included, special
/// tokens skipped):
///
///     let content = StoryFormatter.content(fromDecodedOutput: text, variant: .small)
///     // reply 200 {"Status": true, "Content": content}
public enum StoryFormatter {
    /// Which of the two old services to imitate.
    public enum Variant: Sendable, CaseIterable {
        /// GPT-2 small, port 4019.
        case small
        /// GPT-2 medium, port 4021: adds a `### Story:` cut and a trim after
        /// formatting. Those never fire (the kept text holds no `Story:` and
        /// formatted text has no outer whitespace), so both variants give the
        /// same output for every input; the fixture checks that.
        case medium
    }

    /// A paragraph may close once it holds this many words.
    public static let wordsPerParagraph = 100
    /// What the whole `Content` starts with.
    public static let contentPrefix = "[Content]: "
    /// What separates two paragraphs; the browser splits stories on it.
    public static let paragraphSeparator = "\n\n[Content]: "

    /// The `Content` field the old service would have answered for this decoded
    /// output. Total: any text, including empty, gives a string starting with
    /// `[Content]: ` (empty text gives exactly that prefix).
    public static func content(fromDecodedOutput decoded: String, variant: Variant) -> String {
        let story = storyPart(of: decoded)
        let formatted = paragraphs(of: story).joined(separator: paragraphSeparator)
        switch variant {
        case .small:
            return contentPrefix + formatted
        case .medium:
            let parts = PythonWhitespace.parts(of: Substring(formatted), separatedBy: "### Story:")
            let kept = parts.count > 1 ? parts[1] : Substring(formatted)
            return contentPrefix + PythonWhitespace.stripped(kept)
        }
    }

    /// Step 1: the part between the first and second `Story:`, or all of it.
    static func storyPart(of decoded: String) -> Substring {
        let parts = PythonWhitespace.parts(of: Substring(decoded), separatedBy: "Story:")
        return parts.count > 1 ? parts[1] : parts[0]
    }

    /// Steps 2 and 3: the paragraphs, each one's words joined by single spaces.
    static func paragraphs(of story: Substring) -> [String] {
        var paragraphs: [String] = []
        var current: [Substring] = []
        for word in PythonWhitespace.words(of: story) {
            current.append(word)
            // Python's `word.endswith('.')` compares the last code point, so a
            // period followed by a combining mark or a quote does not count.
            if current.count >= wordsPerParagraph, word.unicodeScalars.last == "." {
                paragraphs.append(current.joined(separator: " "))
                current.removeAll(keepingCapacity: true)
            }
        }
        if !current.isEmpty {
            paragraphs.append(current.joined(separator: " "))
        }
        return paragraphs
    }
}
