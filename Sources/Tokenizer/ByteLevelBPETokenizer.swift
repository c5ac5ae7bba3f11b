import Foundation

/// GPT-2's byte-level BPE tokenizer, giving the same ids as Hugging Face's
/// `GPT2TokenizerFast` (transformers 4.57 / tokenizers 0.22).
///
/// Encoding: added tokens (such as `<|endoftext|>`) are cut out of the text first and map
/// to their ids (`split_special_tokens=False`, HF's default); the rest is split by GPT-2's
/// regex, each piece's UTF-8 bytes become byte-level symbols, and BPE merges them by rank.
/// Decoding concatenates the tokens' bytes and replaces invalid UTF-8 with U+FFFD.
///
/// The value is immutable and `Sendable`: share one instance between threads.
public struct ByteLevelBPETokenizer: Tokenizer {
    /// The token that GPT-2 uses as BOS, EOS and UNK; special when a folder has only
    /// vocab.json and merges.txt, as with `GPT2Tokenizer`.
    public static let endOfText = "<|endoftext|>"

    /// One more than the largest id (vocabulary or added token): ids are `0..<vocabularySize`.
    public let vocabularySize: Int
    /// Ids of the special added tokens (for GPT-2: 50256, `<|endoftext|>`).
    public let specialTokenIDs: Set<Int>
    /// Added tokens with their final ids and matching options.
    public let addedTokens: [AddedToken]
    /// Whether a space is put before text that does not start with one (HF's
    /// `add_prefix_space`; off for GPT-2).
    public let addPrefixSpace: Bool
    /// What `decode(_:skipSpecialTokens:)` does about tokenization spaces: the value of
    /// `clean_up_tokenization_spaces` in the folder's tokenizer_config.json, else `false`,
    /// which is transformers 4.57's default (its docstring still says `true`; older
    /// releases did default to `true` and wrote it into the configs they saved).
    ///
    /// When set, decoding applies transformers' `clean_up_tokenization`: " ." -> ".",
    /// " ?" -> "?", " !" -> "!", " ," -> ",", " ' " -> "'", " n't" -> "n't", " 'm" -> "'m",
    /// " 's" -> "'s", " 've" -> "'ve", " 're" -> "'re". That is lossy ("a , b" decodes to
    /// "a, b"), which is why it is off unless a model asks for it.
    public var cleanUpTokenizationSpaces: Bool

    let model: BPEModel
    let useRegex: Bool
    /// Tokens matched on the raw text, then tokens matched on the remaining ("normalized") text.
    let rawMatcher: AddedTokenMatcher
    let normalizedMatcher: AddedTokenMatcher
    /// Decoded bytes of every id, back to back: id i is `tokenBytes[tokenStarts[i]..<tokenStarts[i + 1]]`;
    /// `hasToken[i]` is false for gaps in the ids.
    let tokenBytes: [UInt8]
    let tokenStarts: [Int]
    let hasToken: [Bool]
    /// Content of each id (added tokens win over the vocabulary, as in HF).
    let tokenStringsByID: [[UInt8]?]

    // MARK: Loading

    /// Loads vocab.json + merges.txt, the files of `GPT2Tokenizer`.
    ///
    /// - Parameters:
    ///   - addedTokens: tokens to add on top of the vocabulary, with HF's id rule (an
    ///     existing content keeps its id, a new one is appended). `nil` means GPT-2's
    ///     default: `<|endoftext|>` as the only, special token.
    ///   - addPrefixSpace: HF's `add_prefix_space`.
    ///   - cleanUpTokenizationSpaces: the default for `decode(_:skipSpecialTokens:)`.
    public init(
        vocabularyURL: URL, mergesURL: URL, addedTokens: [AddedToken]? = nil,
        addPrefixSpace: Bool = false, cleanUpTokenizationSpaces: Bool = false
    ) throws {
        let model = try Self.model(vocabularyURL: vocabularyURL, mergesURL: mergesURL)
        var added = AddedVocabulary(baseVocabulary: model.vocabulary)
        for token in addedTokens ?? [AddedToken(content: Self.endOfText, id: 0, special: true, normalized: true)] {
            added.add(token)
        }
        self.init(
            model: model, addedVocabulary: added, addPrefixSpace: addPrefixSpace, useRegex: true,
            cleanUpTokenizationSpaces: cleanUpTokenizationSpaces)
    }

    /// `asSlowTokenizer`: read merges.txt as transformers' GPT2Tokenizer does (see
    /// `TokenizerFiles.slowTokenizerMerges`) instead of as tokenizers' `BPE.from_file`.
    static func model(vocabularyURL: URL, mergesURL: URL, asSlowTokenizer: Bool = false) throws -> BPEModel {
        let vocabulary = try TokenizerFiles.vocabulary(
            from: TokenizerFiles.readJSON(
                vocabularyURL,
                hint: "vocab.json maps every token to its id; it comes "
                    + "with merges.txt."),
            path: vocabularyURL.path, field: "(top level)")
        let mergesText = try TokenizerFiles.read(
            mergesURL,
            hint: "merges.txt lists the BPE merges; it comes with "
                + "vocab.json.")
        let (merges, lines) =
            asSlowTokenizer
            ? try TokenizerFiles.slowTokenizerMerges(fromText: mergesText, path: mergesURL.path)
            : try TokenizerFiles.merges(fromText: mergesText, path: mergesURL.path)
        return try BPEModel(
            vocabulary: vocabulary, merges: merges, unknownToken: nil, fuseUnknown: false,
            ignoreMerges: false, source: mergesURL.path, mergeLine: { lines[$0] })
    }

    /// Loads a `tokenizer.json` the way `tokenizers.Tokenizer.from_file` does, including
    /// its `add_prefix_space` and added tokens. (Loading a model folder with
    /// `load(directory:)` follows transformers instead, which can differ; see there.)
    ///
    /// Throws `TokenizerError.unsupported` for anything but a BPE model with ByteLevel
    /// pre-tokenizer and decoder and no normalizer.
    public init(tokenizerJSONURL: URL, cleanUpTokenizationSpaces: Bool = false) throws {
        let file = try TokenizerJSON(contentsOf: tokenizerJSONURL)
        try self.init(
            file: file, path: tokenizerJSONURL.path, addPrefixSpace: file.addPrefixSpace,
            extraTokens: { _ in }, cleanUpTokenizationSpaces: cleanUpTokenizationSpaces)
    }

    init(
        file: TokenizerJSON, path: String, addPrefixSpace: Bool, extraTokens: (inout AddedVocabulary) -> Void,
        cleanUpTokenizationSpaces: Bool
    ) throws {
        let model = try BPEModel(
            vocabulary: file.vocabulary, merges: file.merges, unknownToken: file.unknownToken,
            fuseUnknown: file.fuseUnknown, ignoreMerges: file.ignoreMerges, source: path,
            mergeLine: { $0 + 1 })
        var added = AddedVocabulary(baseVocabulary: file.vocabulary)
        for token in file.addedTokens { added.add(token) }
        extraTokens(&added)
        self.init(
            model: model, addedVocabulary: added, addPrefixSpace: addPrefixSpace, useRegex: file.useRegex,
            cleanUpTokenizationSpaces: cleanUpTokenizationSpaces)
    }

    init(
        model: BPEModel, addedVocabulary: AddedVocabulary, addPrefixSpace: Bool, useRegex: Bool,
        cleanUpTokenizationSpaces: Bool
    ) {
        self.model = model
        self.useRegex = useRegex
        self.addPrefixSpace = addPrefixSpace
        self.cleanUpTokenizationSpaces = cleanUpTokenizationSpaces
        let added = addedVocabulary.tokens
        self.addedTokens = added
        rawMatcher = AddedTokenMatcher(tokens: added.filter { !$0.normalized })
        normalizedMatcher = AddedTokenMatcher(tokens: added.filter { $0.normalized })

        var strings = model.tokenStrings
        let size = max(strings.count, (added.map(\.id).max() ?? -1) + 1)
        strings += [[UInt8]?](repeating: nil, count: size - strings.count)
        for token in added { strings[token.id] = Array(token.content.utf8) }
        tokenStringsByID = strings
        vocabularySize = size

        var special = Set<Int>()
        for (id, string) in strings.enumerated() {
            if let string, addedVocabulary.specialContents.contains(string) { special.insert(id) }
        }
        specialTokenIDs = special

        var bytes: [UInt8] = []
        var starts: [Int] = []
        var present: [Bool] = []
        bytes.reserveCapacity(size * 4)
        starts.reserveCapacity(size + 1)
        for string in strings {
            starts.append(bytes.count)
            present.append(string != nil)
            if let string { bytes += ByteLevelPreTokenizer.decodedBytes(ofTokenString: string) }
        }
        starts.append(bytes.count)
        tokenBytes = bytes
        tokenStarts = starts
        hasToken = present
    }

    // MARK: Vocabulary

    /// The id of a token given in its vocab.json form (e.g. "Ġthe"), or an added token's content.
    public func id(forToken token: String) -> Int? {
        let key = Array(token.utf8)
        if let added = addedTokens.first(where: { $0.content.utf8.elementsEqual(key) }) { return added.id }
        return model.vocabulary[key]
    }

    /// The vocab.json form of a token (e.g. "Ġthe"), or nil for an unused id.
    public func token(forID id: Int) -> String? {
        guard id >= 0, id < tokenStringsByID.count, let string = tokenStringsByID[id] else { return nil }
        return String(decoding: string, as: UTF8.self)
    }

    // MARK: Encoding

    /// Inputs of at least this many bytes get a per-call `WordCache`.
    static let cacheThreshold = 2048

    /// Text to ids, as `GPT2TokenizerFast.encode(text)` (GPT-2 adds no BOS/EOS).
    /// Added tokens written in the text are recognised (HF's `split_special_tokens=False`).
    public func encode(_ text: String) -> [Int] {
        var text = text
        return text.withUTF8 { buffer in
            var ids: [Int] = []
            ids.reserveCapacity(buffer.count / 3 + 1)
            var state = BPEScratch()
            state.useCache = buffer.count >= Self.cacheThreshold
            var segments: [Segment] = []
            rawMatcher.split(buffer, from: 0, to: buffer.count, into: &segments)
            for segment in segments {
                switch segment {
                case .token(let id):
                    ids.append(id)
                case .text(let start, let end):
                    if normalizedMatcher.isEmpty {
                        encodeText(buffer, from: start, to: end, into: &ids, scratch: &state)
                        continue
                    }
                    var inner: [Segment] = []
                    normalizedMatcher.split(buffer, from: start, to: end, into: &inner)
                    for piece in inner {
                        switch piece {
                        case .token(let id): ids.append(id)
                        case .text(let s, let e): encodeText(buffer, from: s, to: e, into: &ids, scratch: &state)
                        }
                    }
                }
            }
            return ids
        }
    }

    /// Pre-tokenizes and BPE-encodes text that holds no added token.
    func encodeText(
        _ bytes: UnsafeBufferPointer<UInt8>, from start: Int, to end: Int, into ids: inout [Int],
        scratch: inout BPEScratch
    ) {
        guard start < end else { return }
        if addPrefixSpace && bytes[start] != 0x20 {
            // HF prepends the space to every text segment between added tokens.
            var prefixed: [UInt8] = [0x20]
            prefixed.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[start..<end]))
            prefixed.withUnsafeBufferPointer { buffer in
                encodePieces(buffer, from: 0, to: buffer.count, into: &ids, scratch: &scratch)
            }
        } else {
            encodePieces(bytes, from: start, to: end, into: &ids, scratch: &scratch)
        }
    }

    private func encodePieces(
        _ bytes: UnsafeBufferPointer<UInt8>, from start: Int, to end: Int, into ids: inout [Int],
        scratch: inout BPEScratch
    ) {
        guard useRegex else {
            model.encodePiece(UnsafeBufferPointer(rebasing: bytes[start..<end]), into: &ids, scratch: &scratch)
            return
        }
        ByteLevelPreTokenizer.forEachPiece(in: bytes, from: start, to: end) { pieceStart, pieceEnd in
            model.encodePiece(
                UnsafeBufferPointer(rebasing: bytes[pieceStart..<pieceEnd]), into: &ids, scratch: &scratch)
        }
    }

    // MARK: Decoding

    /// The bytes HF's ByteLevel decoder makes of this token (`isFirst` does not matter for
    /// byte-level BPE): for most tokens, the bytes its characters stand for; for an added
    /// token with characters outside the byte table ("中文"), its own UTF-8.
    public func bytes(forToken id: Int, isFirst: Bool) -> [UInt8]? {
        guard id >= 0, id < hasToken.count, hasToken[id] else { return nil }
        return Array(tokenBytes[tokenStarts[id]..<tokenStarts[id + 1]])
    }

    /// Ids to text with the tokenizer's default for `cleanUpTokenizationSpaces`.
    /// Ids that name no token are skipped, as HF does.
    public func decode(_ ids: [Int], skipSpecialTokens: Bool) -> String {
        decode(ids, skipSpecialTokens: skipSpecialTokens, cleanUpTokenizationSpaces: cleanUpTokenizationSpaces)
    }

    /// Ids to text: the tokens' bytes, with each maximal invalid UTF-8 subsequence replaced
    /// by U+FFFD (as Rust's `String::from_utf8_lossy` in HF's ByteLevel decoder), then
    /// transformers' `clean_up_tokenization` if `cleanUpTokenizationSpaces`.
    public func decode(_ ids: [Int], skipSpecialTokens: Bool = false, cleanUpTokenizationSpaces: Bool) -> String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(ids.count * 4)
        tokenBytes.withUnsafeBufferPointer { all in
            for id in ids {
                guard id >= 0, id < hasToken.count, hasToken[id] else { continue }
                if skipSpecialTokens && specialTokenIDs.contains(id) { continue }
                bytes.append(contentsOf: UnsafeBufferPointer(rebasing: all[tokenStarts[id]..<tokenStarts[id + 1]]))
            }
        }
        if cleanUpTokenizationSpaces { bytes = Self.cleanUpTokenization(bytes) }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// transformers' `clean_up_tokenization`, on bytes: every pattern is ASCII, and ASCII
    /// bytes never occur inside a multi-byte UTF-8 sequence, so byte-wise replacement is
    /// the same as Python's `str.replace` (Foundation's string replacement is not: it
    /// would not match " ." before a combining mark).
    static func cleanUpTokenization(_ bytes: [UInt8]) -> [UInt8] {
        let replacements: [(String, String)] = [
            (" .", "."), (" ?", "?"), (" !", "!"), (" ,", ","), (" ' ", "'"),
            (" n't", "n't"), (" 'm", "'m"), (" 's", "'s"), (" 've", "'ve"), (" 're", "'re"),
        ]
        var text = bytes
        for (from, to) in replacements {
            text = replaceAll(text, Array(from.utf8), Array(to.utf8))
        }
        return text
    }

    private static func replaceAll(_ text: [UInt8], _ pattern: [UInt8], _ replacement: [UInt8]) -> [UInt8] {
        var result: [UInt8] = []
        result.reserveCapacity(text.count)
        var i = 0
        while i < text.count {
            if text[i] == pattern[0], i + pattern.count <= text.count,
                text[i..<(i + pattern.count)].elementsEqual(pattern)
            {
                result += replacement
                i += pattern.count
            } else {
                result.append(text[i])
                i += 1
            }
        }
        return result
    }
}
