import HTTPServer

/// Whitespace exactly as Python 3's `str.split()` and `str.strip()` (no
/// arguments) see it, for code that must reproduce the old Python services.
///
/// Python's set is Unicode's White_Space property plus the four ASCII
/// information separators U+001C...U+001F, so neither `Character.isWhitespace`
/// nor `Unicode.Scalar.Properties.isWhitespace` will do. The 29 code points
/// below are what Python 3.11 reports (`chr(c).isspace()`); the story fixture
/// records Python's own list and a test compares the two.
enum PythonWhitespace {
    static func contains(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x09...0x0D, 0x1C...0x20, 0x85, 0xA0, 0x1680, 0x2000...0x200A,
            0x2028, 0x2029, 0x202F, 0x205F, 0x3000:
            return true
        default:
            return false
        }
    }

    /// `text.split()`: the maximal runs of non-whitespace scalars, in order.
    static func words(of text: Substring) -> [Substring] {
        let scalars = text.unicodeScalars
        var words: [Substring] = []
        var wordStart: String.Index?
        var index = scalars.startIndex
        while index < scalars.endIndex {
            if contains(scalars[index]) {
                if let start = wordStart {
                    words.append(Substring(scalars[start..<index]))
                    wordStart = nil
                }
            } else if wordStart == nil {
                wordStart = index
            }
            index = scalars.index(after: index)
        }
        if let start = wordStart {
            words.append(Substring(scalars[start..<scalars.endIndex]))
        }
        return words
    }

    /// `text.strip()`: the text without leading and trailing whitespace.
    static func stripped(_ text: Substring) -> Substring {
        let scalars = text.unicodeScalars
        var start = scalars.startIndex
        var end = scalars.endIndex
        while start < end, contains(scalars[start]) {
            start = scalars.index(after: start)
        }
        while end > start, contains(scalars[scalars.index(before: end)]) {
            end = scalars.index(before: end)
        }
        return Substring(scalars[start..<end])
    }

    /// `text.split(separator)`, non-overlapping, left to right, comparing code
    /// points (not Swift `Character`s, so a combining mark after the separator
    /// does not hide it, exactly as in Python). An empty separator yields the text.
    static func parts(of text: Substring, separatedBy separator: String) -> [Substring] {
        let needle = Array(separator.unicodeScalars)
        guard !needle.isEmpty else { return [text] }
        let scalars = text.unicodeScalars
        var parts: [Substring] = []
        var partStart = scalars.startIndex
        var index = scalars.startIndex
        while index < scalars.endIndex {
            if let matchEnd = match(needle, in: scalars, at: index) {
                parts.append(Substring(scalars[partStart..<index]))
                partStart = matchEnd
                index = matchEnd
            } else {
                index = scalars.index(after: index)
            }
        }
        parts.append(Substring(scalars[partStart..<scalars.endIndex]))
        return parts
    }

    /// The end of `needle` if it occurs in `scalars` starting at `start`.
    private static func match(
        _ needle: [Unicode.Scalar], in scalars: Substring.UnicodeScalarView,
        at start: String.Index
    ) -> String.Index? {
        var index = start
        for scalar in needle {
            guard index < scalars.endIndex, scalars[index] == scalar else { return nil }
            index = scalars.index(after: index)
        }
        return index
    }
}
