/// Turns ids into text one id at a time, for streaming generated text.
///
/// A byte-level token can end in the middle of a UTF-8 character (an emoji is often
/// two or three tokens), so the decoder holds back an incomplete trailing sequence until
/// the next ids complete it, and never emits half a character. Invalid bytes are
/// replaced by U+FFFD exactly as `decode` would, so for any ids the concatenated
/// outputs of `push` and `finish` equal `decode(ids, skipSpecialTokens:)` without
/// tokenization-space cleanup (which needs the whole text, and is off by default).
///
/// Works with any `Tokenizer` through `bytes(forToken:isFirst:)`.
public struct StreamingDecoder: Sendable {
    /// Where the bytes of each id come from.
    public let tokenizer: any Tokenizer
    /// Whether special tokens are dropped, as `decode(_:skipSpecialTokens: true)` does.
    public let skipSpecialTokens: Bool
    private var pending: [UInt8] = []
    private var emittedAnyToken = false

    /// A decoder for one text; call `finish()` at its end (the decoder can then be reused).
    public init(tokenizer: any Tokenizer, skipSpecialTokens: Bool = false) {
        self.tokenizer = tokenizer
        self.skipSpecialTokens = skipSpecialTokens
    }

    /// Adds one id; returns the text it completes (possibly empty). Unknown ids are skipped.
    public mutating func push(_ id: Int) -> String {
        if skipSpecialTokens && tokenizer.specialTokenIDs.contains(id) { return "" }
        guard let bytes = tokenizer.bytes(forToken: id, isFirst: !emittedAnyToken) else { return "" }
        emittedAnyToken = true
        pending.append(contentsOf: bytes)
        let cut = Self.completePrefixLength(pending)
        guard cut > 0 else { return "" }
        let text = String(decoding: pending[0..<cut], as: UTF8.self)
        pending.removeFirst(cut)
        return text
    }

    /// Adds several ids; returns the text they complete.
    public mutating func push<S: Sequence>(contentsOf ids: S) -> String where S.Element == Int {
        var text = ""
        for id in ids { text += push(id) }
        return text
    }

    /// Flushes what is held back (an unfinished character becomes U+FFFD) and resets the
    /// decoder for a new text.
    public mutating func finish() -> String {
        let text = String(decoding: pending, as: UTF8.self)
        pending.removeAll()
        emittedAnyToken = false
        return text
    }

    /// True when bytes are held back waiting for the rest of a character.
    public var hasPendingBytes: Bool { !pending.isEmpty }

    /// How many leading bytes can be decoded now: all of them, unless they end with the
    /// start of a UTF-8 sequence that more bytes could still complete.
    ///
    /// Cutting just before a lead byte never changes the decoding (U+FFFD replaces maximal
    /// invalid subsequences, and a lead byte always starts a new one), so the pieces
    /// decode to the same text as the whole.
    static func completePrefixLength(_ bytes: [UInt8]) -> Int {
        let count = bytes.count
        // The unfinished sequence, if any, starts at one of the last three bytes.
        var start = count - 1
        while start >= 0 && start >= count - 3 {
            let byte = bytes[start]
            if byte & 0xC0 != 0x80 { break }
            start -= 1
        }
        guard start >= 0 && start >= count - 3 else { return count }
        let lead = bytes[start]
        let needed: Int
        switch lead {
        case 0xC2...0xDF: needed = 2
        case 0xE0...0xEF: needed = 3
        case 0xF0...0xF4: needed = 4
        default: return count
        }
        let have = count - start
        guard have < needed else { return count }
        // The bytes so far must be a valid beginning (no overlong, surrogate or > U+10FFFF).
        if have >= 2 {
            let second = bytes[start + 1]
            let valid: ClosedRange<UInt8>
            switch lead {
            case 0xE0: valid = 0xA0...0xBF
            case 0xED: valid = 0x80...0x9F
            case 0xF0: valid = 0x90...0xBF
            case 0xF4: valid = 0x80...0x8F
            default: valid = 0x80...0xBF
            }
            guard valid.contains(second) else { return count }
        }
        return start
    }
}
