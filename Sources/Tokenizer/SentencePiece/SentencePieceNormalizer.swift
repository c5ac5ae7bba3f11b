/// The compiled normalization map of a SentencePiece model: a darts-clone
/// double-array trie over UTF-8 byte strings whose values point into a blob
/// of NUL-terminated replacement strings.
///
/// Layout (sentencepiece `Normalizer::DecodePrecompiledCharsMap`):
/// `uint32 little-endian trie size in bytes | trie units (uint32 LE each) | replacement strings`.
struct SentencePieceCharsMap: Sendable, Equatable {
    private let units: [UInt32]
    private let normalized: [UInt8]

    init(blob: [UInt8]) throws {
        guard blob.count > 4 else {
            throw SentencePieceError.invalidCharsMap(
                reason: "the map is \(blob.count) bytes long, too short for "
                    + "its header")
        }
        let trieSize = Int(UInt32(blob[0]) | UInt32(blob[1]) << 8 | UInt32(blob[2]) << 16 | UInt32(blob[3]) << 24)
        // sentencepiece 0.2.3's rules: the trie leaves at least one byte of normalized text
        // and is a whole number of 1024-byte blocks.
        guard trieSize < blob.count - 4 else {
            throw SentencePieceError.invalidCharsMap(
                reason: "the trie size \(trieSize) leaves nothing of the "
                    + "map's \(blob.count - 4) bytes")
        }
        guard trieSize % 1024 == 0, trieSize >= 1024 else {
            throw SentencePieceError.invalidCharsMap(
                reason: "the trie size \(trieSize) is not a positive multiple "
                    + "of 1024")
        }
        var units = [UInt32](repeating: 0, count: trieSize / 4)
        for i in 0..<units.count {
            let o = 4 + 4 * i
            units[i] =
                UInt32(blob[o]) | UInt32(blob[o + 1]) << 8 | UInt32(blob[o + 2]) << 16 | UInt32(blob[o + 3]) << 24
        }
        self.units = units
        self.normalized = Array(blob[(4 + trieSize)...])
    }

    @inline(__always) private static func hasLeaf(_ u: UInt32) -> Bool { (u >> 8) & 1 == 1 }
    @inline(__always) private static func value(_ u: UInt32) -> Int { Int(u & 0x7FFF_FFFF) }
    @inline(__always) private static func label(_ u: UInt32) -> UInt32 { u & (0x8000_0000 | 0xFF) }
    @inline(__always) private static func offset(_ u: UInt32) -> Int { Int((u >> 10) << ((u & (1 << 9)) >> 6)) }

    /// All keys that are prefixes of `bytes[start..<end]`, shortest first, as
    /// (key length, replacement offset). darts-clone `commonPrefixSearch`, bounds-checked.
    func commonPrefixSearch(_ bytes: [UInt8], from start: Int, to end: Int, _ body: (Int, Int) -> Void) {
        guard !units.isEmpty else { return }
        var nodePos = Self.offset(units[0])
        var i = start
        while i < end {
            let byte = bytes[i]
            nodePos ^= Int(byte)
            guard nodePos >= 0, nodePos < units.count else { return }
            let unit = units[nodePos]
            guard Self.label(unit) == UInt32(byte) else { return }
            nodePos ^= Self.offset(unit)
            i += 1
            if Self.hasLeaf(unit) {
                guard nodePos >= 0, nodePos < units.count else { return }
                body(i - start, Self.value(units[nodePos]))
            }
        }
    }

    /// The replacement string starting at `offset` (up to its NUL), or nil when out of range.
    func replacement(at offset: Int) -> ArraySlice<UInt8>? {
        guard offset >= 0, offset <= normalized.count else { return nil }
        var e = offset
        while e < normalized.count, normalized[e] != 0 { e += 1 }
        return normalized[offset..<e]
    }

    /// sentencepiece: the longest key matching at `start`.
    func longestMatch(_ bytes: [UInt8], from start: Int) -> (length: Int, replacement: ArraySlice<UInt8>)? {
        var bestLength = 0
        var bestValue = 0
        commonPrefixSearch(bytes, from: start, to: bytes.count) { length, value in
            if bestLength == 0 || length > bestLength {
                bestLength = length
                bestValue = value
            }
        }
        guard bestLength > 0, let r = replacement(at: bestValue) else { return nil }
        return (bestLength, r)
    }

    /// Hugging Face `tokenizers` (`Precompiled::transform`): the *first* (shortest) key
    /// matching `bytes[start..<end]`, whatever its length.
    func firstMatch(_ bytes: [UInt8], from start: Int, to end: Int) -> ArraySlice<UInt8>? {
        var first: Int?
        commonPrefixSearch(bytes, from: start, to: end) { _, value in
            if first == nil { first = value }
        }
        guard let value = first else { return nil }
        return replacement(at: value)
    }
}

/// sentencepiece's `string_util::OneCharLen`: the length of a UTF-8 sequence from its lead byte.
@inline(__always)
func sentencePieceOneCharLength(_ byte: UInt8) -> Int {
    switch byte >> 4 {
    case 0xC, 0xD: return 2
    case 0xE: return 3
    case 0xF: return 4
    default: return 1
    }
}

/// sentencepiece's `string_util::DecodeUTF8`: (code point or nil when invalid, bytes consumed).
func sentencePieceDecodeUTF8(_ bytes: [UInt8], from start: Int, to end: Int) -> (scalar: UInt32?, length: Int) {
    let len = end - start
    let b0 = bytes[start]
    @inline(__always) func trail(_ b: UInt8) -> Bool { b & 0xC0 == 0x80 }
    @inline(__always) func valid(_ c: UInt32) -> Bool { c < 0xD800 || (c >= 0xE000 && c <= 0x10FFFF) }
    if b0 < 0x80 { return (UInt32(b0), 1) }
    if len >= 2, b0 & 0xE0 == 0xC0 {
        let cp = (UInt32(b0 & 0x1F) << 6) | UInt32(bytes[start + 1] & 0x3F)
        if trail(bytes[start + 1]), cp >= 0x80, valid(cp) { return (cp, 2) }
    } else if len >= 3, b0 & 0xF0 == 0xE0 {
        let cp = (UInt32(b0 & 0x0F) << 12) | (UInt32(bytes[start + 1] & 0x3F) << 6) | UInt32(bytes[start + 2] & 0x3F)
        if trail(bytes[start + 1]), trail(bytes[start + 2]), cp >= 0x800, valid(cp) { return (cp, 3) }
    } else if len >= 4, b0 & 0xF8 == 0xF0 {
        let cp =
            (UInt32(b0 & 0x07) << 18) | (UInt32(bytes[start + 1] & 0x3F) << 12)
            | (UInt32(bytes[start + 2] & 0x3F) << 6) | UInt32(bytes[start + 3] & 0x3F)
        if trail(bytes[start + 1]), trail(bytes[start + 2]), trail(bytes[start + 3]), cp >= 0x10000, valid(cp) {
            return (cp, 4)
        }
    }
    return (nil, 1)
}

let sentencePieceSpaceSymbol: [UInt8] = [0xE2, 0x96, 0x81]  // U+2581 LOWER ONE EIGHTH BLOCK
private let replacementCharacter: [UInt8] = [0xEF, 0xBF, 0xBD]

/// sentencepiece's `normalizer::Normalizer`, byte for byte.
struct SentencePieceNormalizer: Sendable, Equatable {
    let spec: SentencePieceModel.NormalizerSpec
    let charsMap: SentencePieceCharsMap?
    let treatWhitespaceAsSuffix: Bool
    /// User-defined symbols, copied through unnormalized.
    let userDefined: SentencePieceByteTrie?

    init(
        spec: SentencePieceModel.NormalizerSpec, treatWhitespaceAsSuffix: Bool,
        userDefined: SentencePieceByteTrie?
    ) throws {
        self.spec = spec
        self.treatWhitespaceAsSuffix = treatWhitespaceAsSuffix
        self.userDefined = userDefined
        self.charsMap =
            spec.precompiledCharsmap.isEmpty ? nil : try SentencePieceCharsMap(blob: spec.precompiledCharsmap)
    }

    /// `Normalizer::NormalizePrefix`: the normalized form of the longest rule at `start`,
    /// and how many input bytes it consumes.
    private func normalizePrefix(_ input: [UInt8], _ start: Int) -> (ArraySlice<UInt8>, Int) {
        if let userDefined {
            let n = userDefined.longestPrefix(input, from: start)
            if n > 0 { return (input[start..<(start + n)], n) }
        }
        if let charsMap, let match = charsMap.longestMatch(input, from: start) {
            return (match.replacement, match.length)
        }
        let (scalar, length) = sentencePieceDecodeUTF8(input, from: start, to: input.count)
        // Malformed UTF-8 (only reachable from byte input): U+FFFD for one byte, as sentencepiece does.
        if scalar == nil { return (replacementCharacter[...], 1) }
        return (input[start..<(start + length)], length)
    }

    /// Normalizes UTF-8 bytes the way `SentencePieceProcessor::Normalize` does.
    /// `addDummyPrefix` overrides the spec's flag when given.
    func normalize(_ input: [UInt8], addDummyPrefix: Bool? = nil) -> [UInt8] {
        let addPrefix = addDummyPrefix ?? spec.addDummyPrefix
        var position = 0
        if spec.removeExtraWhitespaces {
            while position < input.count {
                let (piece, consumed) = normalizePrefix(input, position)
                if !(piece.count == 1 && piece.first == 0x20) { break }
                position += consumed
            }
        }
        if position >= input.count { return [] }

        var out: [UInt8] = []
        out.reserveCapacity(input.count * 3)
        let space: [UInt8] = spec.escapeWhitespaces ? sentencePieceSpaceSymbol : [0x20]
        if !treatWhitespaceAsSuffix && addPrefix { out += space }

        var isPrevSpace = spec.removeExtraWhitespaces
        while position < input.count {
            var (piece, consumed) = normalizePrefix(input, position)
            while isPrevSpace, piece.first == 0x20 { piece = piece.dropFirst() }
            if !piece.isEmpty {
                for byte in piece {
                    if spec.escapeWhitespaces && byte == 0x20 {
                        out += sentencePieceSpaceSymbol
                    } else {
                        out.append(byte)
                    }
                }
                isPrevSpace = piece.last == 0x20
            }
            position += consumed
            if !spec.removeExtraWhitespaces { isPrevSpace = false }
        }

        if spec.removeExtraWhitespaces {
            while out.count >= space.count, Array(out[(out.count - space.count)...]) == space {
                out.removeLast(space.count)
            }
        }
        if treatWhitespaceAsSuffix && addPrefix { out += space }
        return out
    }

    /// The Hugging Face `tokenizers` `Precompiled` normalizer (NllbTokenizerFast): each
    /// extended grapheme cluster shorter than 6 bytes is replaced as a whole by the
    /// *shortest* rule matching its start (dropping the rest of the cluster); otherwise
    /// each character is mapped alone. Differs from sentencepiece on some combining
    /// sequences, decomposed Hangul and half-width kana. Returns text, no whitespace handling.
    func huggingFacePrecompiled(_ text: String) -> String {
        guard let charsMap else { return text }
        var out: [UInt8] = []
        out.reserveCapacity(text.utf8.count)
        for grapheme in text {
            let g = Array(String(grapheme).utf8)
            if g.count < 6, let r = charsMap.firstMatch(g, from: 0, to: g.count) {
                out += r
                continue
            }
            for scalar in String(grapheme).unicodeScalars {
                let c = Array(String(scalar).utf8)
                if let r = charsMap.firstMatch(c, from: 0, to: c.count) { out += r } else { out += c }
            }
        }
        return String(decoding: out, as: UTF8.self)
    }
}
