import Foundation

/// PLACEHOLDER — simple stand-ins for the legacy text rules so the server and its tests
/// run before `StoryFormatter.swift` / `LegacyTranslationText.swift` are merged. Replace
/// the calls in `LegacyTextSeams.swift` and delete this file then.
enum PlaceholderLegacyText {
    static func formatStory(_ text: String, variant: LegacyStoryVariant) -> String {
        var story = text
        if variant == .medium, let marker = story.range(of: "### Story:") {
            story = String(story[marker.upperBound...]).trimmingCharacters(in: .whitespacesAndNewlines)
        } else if let marker = story.range(of: "Story:") {
            story = String(story[marker.upperBound...])
        }
        var paragraphs: [String] = []
        var current: [Substring] = []
        for word in story.split(whereSeparator: { $0.isWhitespace }) {
            current.append(word)
            if current.count >= 100 && word.hasSuffix(".") {
                paragraphs.append(current.joined(separator: " "))
                current = []
            }
        }
        if !current.isEmpty { paragraphs.append(current.joined(separator: " ")) }
        return "[Content]: " + paragraphs.joined(separator: "\n\n[Content]: ")
    }

    static func planTranslation(_ text: String) -> LegacyTranslationPlan {
        enum Piece { case tag(String), sentences(Range<Int>) }
        var pieces: [Piece] = []
        var segments: [String] = []
        func addText(_ text: String) {
            let sentences = splitSentences(text)
            guard !sentences.isEmpty else { return }
            pieces.append(.sentences(segments.count..<(segments.count + sentences.count)))
            segments += sentences
        }
        let pattern = try! NSRegularExpression(pattern: #"\[[^\[\]\n]{1,80}\]:?"#)
        let ns = text as NSString
        var cursor = 0
        for match in pattern.matches(in: text, range: NSRange(location: 0, length: ns.length)) {
            addText(ns.substring(with: NSRange(location: cursor, length: match.range.location - cursor)))
            pieces.append(.tag(ns.substring(with: match.range)))
            cursor = match.range.location + match.range.length
        }
        addText(ns.substring(from: cursor))
        return LegacyTranslationPlan(segments: segments) { translated in
            var out = ""
            for piece in pieces {
                switch piece {
                case .tag(let tag):
                    if !out.isEmpty { out = out.trimmingCharacters(in: .whitespaces) + "\n\n" }
                    out += tag
                case .sentences(let range):
                    let joined = range.map { $0 < translated.count ? translated[$0] : "" }.joined(separator: " ")
                    out += (out.isEmpty ? "" : " ") + joined
                }
            }
            return out
        }
    }

    /// Sentences ending in . ! or ? followed by whitespace; punctuation kept.
    private static func splitSentences(_ text: String) -> [String] {
        var sentences: [String] = []
        var current = ""
        var previous: Character?
        for character in text {
            if character.isWhitespace, let previous, ".!?".contains(previous) {
                let trimmed = current.trimmingCharacters(in: .whitespacesAndNewlines)
                if !trimmed.isEmpty { sentences.append(trimmed) }
                current = ""
            } else {
                current.append(character)
            }
            previous = character
        }
        let trimmed = current.trimmingCharacters(in: .whitespacesAndNewlines)
        if !trimmed.isEmpty { sentences.append(trimmed) }
        return sentences
    }
}
