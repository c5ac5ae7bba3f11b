/// A token added on top of the BPE vocabulary (`<|endoftext|>`, chat markers...), with
/// the matching options of Hugging Face's `AddedToken`.
public struct AddedToken: Sendable, Hashable {
    /// The text that stands for the token.
    public var content: String
    /// Its id. When a tokenizer is built, ids are (re)assigned with HF's rule (see
    /// `ByteLevelBPETokenizer.addedTokens` for the final ones).
    public var id: Int
    /// Special tokens are dropped by `decode(_:skipSpecialTokens: true)`.
    public var special: Bool
    /// Also swallow the whitespace just before the token.
    public var lstrip: Bool
    /// Also swallow the whitespace just after the token.
    public var rstrip: Bool
    /// Only match when not inside a word (no word character right before or after).
    public var singleWord: Bool
    /// Matched against normalized text, in a second pass after the non-normalized tokens
    /// (with no normalizer, that order is the only difference).
    public var normalized: Bool

    /// `normalized` defaults as in HF: false for special tokens, true for others.
    public init(
        content: String, id: Int, special: Bool, lstrip: Bool = false, rstrip: Bool = false,
        singleWord: Bool = false, normalized: Bool? = nil
    ) {
        self.content = content
        self.id = id
        self.special = special
        self.lstrip = lstrip
        self.rstrip = rstrip
        self.singleWord = singleWord
        // HF's default: special tokens are not normalized, others are.
        self.normalized = normalized ?? !special
    }
}

/// A run of input: either text for the pre-tokenizer or an added token already resolved.
enum Segment: Equatable {
    case text(start: Int, end: Int)
    case token(id: Int)
}

/// Finds added tokens in text, with the semantics of HF tokenizers' `AddedVocabulary`:
/// leftmost-longest matching (Aho-Corasick `LeftmostLongest`), non-overlapping, then the
/// `single_word`, `lstrip`, `rstrip` adjustments on each match.
struct AddedTokenMatcher: Sendable {
    private struct Pattern: Sendable {
        var bytes: [UInt8]
        var token: AddedToken
    }

    /// Pattern indices by first byte, longest first, so that the first hit at a position
    /// is the leftmost-longest match.
    private let byFirstByte: [[Int]]
    private let patterns: [Pattern]
    let isEmpty: Bool

    init(tokens: [AddedToken]) {
        var patterns: [Pattern] = []
        for token in tokens where !token.content.isEmpty {
            patterns.append(Pattern(bytes: Array(token.content.utf8), token: token))
        }
        var byFirstByte = [[Int]](repeating: [], count: 256)
        for (index, pattern) in patterns.enumerated() { byFirstByte[Int(pattern.bytes[0])].append(index) }
        for byte in 0..<256 {
            byFirstByte[byte].sort { a, b in
                patterns[a].bytes.count != patterns[b].bytes.count
                    ? patterns[a].bytes.count > patterns[b].bytes.count : a < b
            }
        }
        self.patterns = patterns
        self.byFirstByte = byFirstByte
        self.isEmpty = patterns.isEmpty
    }

    /// Splits `bytes[from..<to]` into text and token segments, appending them to `output`.
    /// Positions in `.text` are absolute indices into `bytes`.
    func split(_ bytes: UnsafeBufferPointer<UInt8>, from: Int, to end: Int, into output: inout [Segment]) {
        if isEmpty {
            if from < end { output.append(.text(start: from, end: end)) }
            return
        }
        var startOffset = from
        var position = from
        while position < end {
            guard let (index, matchEnd) = longestMatch(bytes, at: position, end: end) else {
                position += 1
                continue
            }
            let token = patterns[index].token
            var start = position
            var stop = matchEnd
            // The search goes on after the match even when the checks below discard it.
            position = matchEnd
            if token.singleWord {
                let startIsBoundary = start == from || !Self.endsWithWordCharacter(bytes, from: from, to: start)
                let stopIsBoundary = stop == end || !Self.startsWithWordCharacter(bytes, from: stop, to: end)
                if !startIsBoundary || !stopIsBoundary { continue }
            }
            if token.lstrip {
                start = max(Self.startOfTrailingWhitespace(bytes, from: from, to: start), startOffset)
            }
            if token.rstrip {
                stop = Self.endOfLeadingWhitespace(bytes, from: stop, to: end)
            }
            if startOffset < start { output.append(.text(start: startOffset, end: start)) }
            output.append(.token(id: token.id))
            startOffset = stop
        }
        if startOffset < end { output.append(.text(start: startOffset, end: end)) }
    }

    /// The pattern index and end of the longest pattern starting at `position`.
    @inline(__always)
    private func longestMatch(_ bytes: UnsafeBufferPointer<UInt8>, at position: Int, end: Int) -> (Int, Int)? {
        let candidates = byFirstByte[Int(bytes[position])]
        if candidates.isEmpty { return nil }
        for index in candidates {
            let pattern = patterns[index].bytes
            guard position + pattern.count <= end else { continue }
            var matches = true
            for k in 1..<pattern.count where bytes[position + k] != pattern[k] {
                matches = false
                break
            }
            if matches { return (index, position + pattern.count) }
        }
        return nil
    }

    // Word characters and whitespace as the Rust `regex` crate defines `\w` and `\s`
    // (Unicode-aware): the checks HF uses for single_word, lstrip and rstrip.

    static func isWordCharacter(_ scalar: Unicode.Scalar) -> Bool {
        let properties = scalar.properties
        if properties.isAlphabetic || properties.isJoinControl { return true }
        switch properties.generalCategory {
        case .nonspacingMark, .spacingMark, .enclosingMark, .decimalNumber, .connectorPunctuation: return true
        default: return false
        }
    }

    private static func scalarBefore(_ bytes: UnsafeBufferPointer<UInt8>, index: Int) -> (Unicode.Scalar, Int) {
        var start = index - 1
        while bytes[start] & 0xC0 == 0x80 { start -= 1 }
        let (value, _) = ByteLevelPreTokenizer.decodeScalar(bytes, at: start)
        return (Unicode.Scalar(value) ?? "\u{FFFD}", start)
    }

    private static func endsWithWordCharacter(_ bytes: UnsafeBufferPointer<UInt8>, from: Int, to: Int) -> Bool {
        guard to > from else { return false }
        return isWordCharacter(scalarBefore(bytes, index: to).0)
    }

    private static func startsWithWordCharacter(_ bytes: UnsafeBufferPointer<UInt8>, from: Int, to: Int) -> Bool {
        guard from < to else { return false }
        let (value, _) = ByteLevelPreTokenizer.decodeScalar(bytes, at: from)
        return isWordCharacter(Unicode.Scalar(value) ?? "\u{FFFD}")
    }

    private static func startOfTrailingWhitespace(_ bytes: UnsafeBufferPointer<UInt8>, from: Int, to: Int) -> Int {
        var index = to
        while index > from {
            let (scalar, start) = scalarBefore(bytes, index: index)
            guard scalar.properties.isWhitespace else { break }
            index = start
        }
        return index
    }

    private static func endOfLeadingWhitespace(_ bytes: UnsafeBufferPointer<UInt8>, from: Int, to: Int) -> Int {
        var index = from
        while index < to {
            let (value, length) = ByteLevelPreTokenizer.decodeScalar(bytes, at: index)
            guard let scalar = Unicode.Scalar(value), scalar.properties.isWhitespace else { break }
            index += length
        }
        return index
    }
}
