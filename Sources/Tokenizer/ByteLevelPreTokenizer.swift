/// GPT-2's byte-level pre-tokenization: the byte <-> character table and the split
/// regex, implemented by hand.
///
/// The regex is
/// `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`.
/// A hand-written matcher is several times faster than a regex engine and lets us pin
/// the character classes to the reference tokenizer's (`UnicodeCategories`).
public enum ByteLevelPreTokenizer {
    /// GPT-2's `bytes_to_unicode`: printable Latin-1 bytes stand for themselves, the
    /// other 68 bytes (controls, space, NBSP, soft hyphen...) are moved to U+0100...U+0143
    /// so that every token string is printable and has no whitespace.
    public static let byteToScalar: [Unicode.Scalar] = {
        var table = [Unicode.Scalar](repeating: "\0", count: 256)
        var next: UInt32 = 256
        for byte in 0..<256 {
            let printable = (0x21...0x7E).contains(byte) || (0xA1...0xAC).contains(byte) || (0xAE...0xFF).contains(byte)
            if printable {
                table[byte] = Unicode.Scalar(UInt32(byte))!
            } else {
                table[byte] = Unicode.Scalar(next)!
                next += 1
            }
        }
        return table
    }()

    /// Inverse of `byteToScalar`, indexed by scalar value (all of them are below 0x144);
    /// -1 for scalars that stand for no byte.
    static let scalarToByte: [Int16] = {
        var table = [Int16](repeating: -1, count: 0x144)
        for (byte, scalar) in byteToScalar.enumerated() { table[Int(scalar.value)] = Int16(byte) }
        return table
    }()

    /// The byte a character of a token string stands for, or nil if it is not one of
    /// the 256 byte-level characters.
    @inline(__always)
    static func byte(forScalar value: UInt32) -> UInt8? {
        guard value < 0x144 else { return nil }
        let byte = scalarToByte[Int(value)]
        return byte < 0 ? nil : UInt8(byte)
    }

    /// The bytes a token string stands for, the way the ByteLevel decoder of HF tokenizers
    /// reads it: if every character is a byte-level character, those bytes; otherwise (an
    /// added token such as "中文") the string's own UTF-8.
    static func decodedBytes(ofTokenString utf8: [UInt8]) -> [UInt8] {
        var result: [UInt8] = []
        result.reserveCapacity(utf8.count)
        for scalar in String(decoding: utf8, as: UTF8.self).unicodeScalars {
            guard let byte = byte(forScalar: scalar.value) else { return utf8 }
            result.append(byte)
        }
        return result
    }

    /// The byte-level string (as UTF-8) that stands for these bytes, i.e. the form
    /// tokens have in vocab.json.
    static func tokenString(forBytes bytes: [UInt8]) -> [UInt8] {
        var result: [UInt8] = []
        result.reserveCapacity(bytes.count * 2)
        for byte in bytes { UTF8.encode(byteToScalar[Int(byte)]) { result.append($0) } }
        return result
    }

    /// Splits `text` into the pieces the regex matches, as strings. Convenient for tests
    /// and tooling; the tokenizer itself uses the byte-range form.
    public static func split(_ text: String) -> [String] {
        var copy = text
        return copy.withUTF8 { buffer in
            var pieces: [String] = []
            forEachPiece(in: buffer, from: 0, to: buffer.count) { start, end in
                pieces.append(String(decoding: UnsafeBufferPointer(rebasing: buffer[start..<end]), as: UTF8.self))
            }
            return pieces
        }
    }

    /// Decodes the scalar starting at `index` of valid UTF-8. Returns its value and length.
    @inline(__always)
    static func decodeScalar(_ bytes: UnsafeBufferPointer<UInt8>, at index: Int) -> (value: UInt32, length: Int) {
        let b0 = UInt32(bytes[index])
        if b0 < 0x80 { return (b0, 1) }
        if b0 < 0xE0 { return ((b0 & 0x1F) << 6 | UInt32(bytes[index + 1] & 0x3F), 2) }
        if b0 < 0xF0 {
            return ((b0 & 0x0F) << 12 | UInt32(bytes[index + 1] & 0x3F) << 6 | UInt32(bytes[index + 2] & 0x3F), 3)
        }
        return (
            (b0 & 0x07) << 18 | UInt32(bytes[index + 1] & 0x3F) << 12
                | UInt32(bytes[index + 2] & 0x3F) << 6 | UInt32(bytes[index + 3] & 0x3F), 4
        )
    }

    /// Calls `body(start, end)` with the byte range of every piece of `bytes[from..<to]`,
    /// in order; the pieces cover the range exactly. `bytes` must be valid UTF-8 (it comes
    /// from a Swift `String`).
    ///
    /// Matching follows the regex alternation in order at each position (leftmost-first,
    /// as Oniguruma and fancy-regex do):
    /// 1. a contraction (`'s`, `'t`, `'re`, `'ve`, `'m`, `'ll`, `'d`; ASCII apostrophe and
    ///    lowercase only: `'S` and `’s` are punctuation followed by a letter);
    /// 2-4. an optional U+0020 followed by a run of letters, of numbers, or of "other"
    ///    (neither whitespace, letter nor number);
    /// 5. `\s+(?!\S)`: a whitespace run that reaches the end of the text, or, when a
    ///    non-space follows, the run minus its last scalar, which is given back so that
    ///    the next word can take it as its leading space (" world" stays one piece);
    /// 6. `\s+`: a lone whitespace scalar followed by a non-space.
    @inline(__always)
    static func forEachPiece(
        in bytes: UnsafeBufferPointer<UInt8>, from: Int, to end: Int,
        _ body: (_ start: Int, _ end: Int) -> Void
    ) {
        var i = from
        while i < end {
            let start = i
            let b0 = bytes[i]
            // 1. Contractions.
            if b0 == UInt8(ascii: "'"), i + 1 < end {
                let b1 = bytes[i + 1]
                if b1 == UInt8(ascii: "s") || b1 == UInt8(ascii: "t") || b1 == UInt8(ascii: "m")
                    || b1 == UInt8(ascii: "d")
                {
                    i += 2
                    body(start, i)
                    continue
                }
                if i + 2 < end {
                    let b2 = bytes[i + 2]
                    if (b1 == UInt8(ascii: "r") && b2 == UInt8(ascii: "e"))
                        || (b1 == UInt8(ascii: "v") && b2 == UInt8(ascii: "e"))
                        || (b1 == UInt8(ascii: "l") && b2 == UInt8(ascii: "l"))
                    {
                        i += 3
                        body(start, i)
                        continue
                    }
                }
            }
            var (value, length) = decodeScalar(bytes, at: i)
            var cls = UnicodeCategories.classify(value)
            // 2-4. " ?" before a run: the space belongs to the run when one follows.
            if b0 == 0x20, i + 1 < end {
                let next = decodeScalar(bytes, at: i + 1)
                let nextClass = UnicodeCategories.classify(next.value)
                if nextClass != .whitespace {
                    i += 1
                    (value, length) = next
                    cls = nextClass
                }
            }
            if cls != .whitespace {
                i += length
                while i < end {
                    let (v, l) = decodeScalar(bytes, at: i)
                    if UnicodeCategories.classify(v) != cls { break }
                    i += l
                }
                body(start, i)
                continue
            }
            // 5-6. Whitespace run.
            var lastStart = i
            var count = 0
            while i < end {
                let (v, l) = decodeScalar(bytes, at: i)
                if UnicodeCategories.classify(v) != .whitespace { break }
                lastStart = i
                count += 1
                i += l
            }
            if i < end && count > 1 {
                i = lastStart
            }
            body(start, i)
        }
    }
}
