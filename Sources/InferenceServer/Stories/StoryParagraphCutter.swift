import HTTPServer

/// Cuts a story into the old services' paragraphs while the model is still writing it, handing
/// out each paragraph once it can no longer change: the paragraphs it gives, in order, are
/// exactly `StoryFormatter`'s for the finished text.
///
/// A paragraph is final when the story's start is known (the text holds `Story:`; before
/// that a later `Story:` could still move the start) and the word that closes it is followed
/// by whitespace (the next token could still extend it). A second `Story:` ends the story.
///
///     var cutter = StoryParagraphCutter()
///     for text in decodedSoFar { send(cutter.paragraphs(final: false, in: text)) }
///     send(cutter.paragraphs(final: true, in: finishedText))
public struct StoryParagraphCutter: Sendable {
    /// Paragraphs handed out so far.
    public private(set) var handedOut = 0
    /// True once the text holds a second `Story:`: nothing after it belongs to the story.
    public private(set) var storyEnded = false

    public init() {}

    /// The paragraphs of `text` (the decoded output so far, prompt included) that are final
    /// and were not handed out yet. With `final`, the text is finished and every remaining
    /// paragraph is given, the unclosed last one included.
    public mutating func paragraphs(final: Bool, in text: String) -> [String] {
        let parts = PythonWhitespace.parts(of: Substring(text), separatedBy: "Story:")
        let paragraphs: [String]
        if final {
            paragraphs = StoryFormatter.paragraphs(of: parts.count > 1 ? parts[1] : parts[0])
        } else {
            guard parts.count > 1 else { return [] }
            storyEnded = parts.count > 2
            paragraphs = storyEnded ? StoryFormatter.paragraphs(of: parts[1]) : Self.closedParagraphs(of: parts[1])
        }
        guard paragraphs.count > handedOut else { return [] }
        defer { handedOut = paragraphs.count }
        return Array(paragraphs[handedOut...])
    }

    /// The paragraphs closed by a word that whitespace follows, leaving out the open one.
    private static func closedParagraphs(of story: Substring) -> [String] {
        var words = PythonWhitespace.words(of: story)
        if let last = story.unicodeScalars.last, !PythonWhitespace.contains(last), !words.isEmpty {
            words.removeLast()
        }
        let all = StoryFormatter.paragraphs(of: Substring(words.joined(separator: " ")))
        guard let last = all.last, let lastWord = last.split(separator: " ").last else { return all }
        let closed =
            PythonWhitespace.words(of: Substring(last)).count >= StoryFormatter.wordsPerParagraph
            && lastWord.unicodeScalars.last == "."
        return closed ? all : Array(all.dropLast())
    }
}
