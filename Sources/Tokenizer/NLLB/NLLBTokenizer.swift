import Foundation

/// NLLB-200's tokenizer, id-exact with transformers 4.57.1's `NLLBTokenizer`
/// (non-legacy behaviour) and, with `EncodingStyle.fast`, `NllbTokenizerFast`.
///
/// Ids follow fairseq: `<s>`=0, `<pad>`=1, `</s>`=2, `<unk>`=3; SentencePiece id `i`
/// becomes `i + 1` (SentencePiece's own `<unk>` becomes 3); then the 202 FLORES-200
/// language codes and `<mask>` as added tokens. A source sentence is
/// `[src_lang] tokens </s>`, a target sentence `[tgt_lang] tokens </s>`
/// (`legacy_behaviour: true` in tokenizer_config.json gives `tokens </s> [lang]`).
///
/// Loading a folder: as transformers' `AutoTokenizer` (fast by default), the pieces come
/// from `tokenizer.json` when present, else from `sentencepiece.bpe.model`, so a damaged
/// `tokenizer.json` is an error even beside a good `.model` — unless tokenizer_config.json
/// says `"from_slow": true`, when transformers builds the tokenizer from the `.model` and
/// never reads `tokenizer.json` (nor do we); the ids of added tokens come
/// from `tokenizer_config.json`'s `added_tokens_decoder`, else `tokenizer.json`'s
/// `added_tokens`, else they are computed (`BareModelLayout`). Both sources give the
/// same ids.
///
/// `encode` (the `Tokenizer` protocol) follows the slow tokenizer: the text is split on
/// added tokens (special tokens typed in the text, such as `</s>` or `eng_Latn`, become
/// their ids) and each piece of text is encoded by SentencePiece separately.
/// `NllbTokenizerFast` differs on a few inputs (it normalizes whole grapheme clusters:
/// decomposed Hangul, half-width kana with voiced marks, a base with several combining
/// marks; and it leaves a `▁` before `<mask>` preceded by two or more spaces);
/// `encode(_:style: .fast)` reproduces those ids too.
public struct NLLBTokenizer: Tokenizer {
    /// An added token (`added_tokens_decoder` / `added_tokens` entry).
    public struct AddedToken: Sendable, Equatable {
        public let content: String
        public let id: Int
        public let special: Bool
        /// Whitespace on the left of the token is removed (`<mask>`).
        public let lstrip: Bool
        /// Whitespace on the right of the token is removed.
        public let rstrip: Bool
        public let singleWord: Bool
        public let normalized: Bool
        public init(
            content: String, id: Int, special: Bool, lstrip: Bool = false, rstrip: Bool = false,
            singleWord: Bool = false, normalized: Bool = false
        ) {
            self.content = content
            self.id = id
            self.special = special
            self.lstrip = lstrip
            self.rstrip = rstrip
            self.singleWord = singleWord
            self.normalized = normalized
        }
    }

    /// Where the subword pieces come from.
    public enum VocabularySource: Sendable, Equatable {
        /// `sentencepiece.bpe.model` (ids shifted by the fairseq offset).
        case sentencePieceModel
        /// `tokenizer.json` (ids as written).
        case tokenizerJSON
    }

    /// Ids of the language codes and `<mask>` when no file lists them (a bare `.model`).
    public enum BareModelLayout: Sendable, Equatable {
        /// As in the published NLLB checkpoints and fairseq: language codes right after
        /// the SentencePiece vocabulary, then `<mask>` (eng_Latn = 256047, `<mask>` = 256203).
        case published
        /// What transformers 4.57.1 builds from a bare `.model` (`NLLBTokenizer(vocab_file)`):
        /// `<mask>` right after the vocabulary, then the language codes (all shifted by one).
        case transformersBareModel
    }

    /// How `decode` joins tokens.
    public enum DecodeStyle: Sendable, Equatable {
        /// transformers' `NLLBTokenizer.decode`: language codes are separated by spaces,
        /// each run of pieces is stripped of surrounding whitespace.
        case slow
        /// `NllbTokenizerFast.decode`: tokens concatenated, `▁` -> space, the first
        /// token loses its `▁`s.
        case fast
    }

    /// Where the pieces were loaded from.
    public let vocabularySource: VocabularySource
    /// The SentencePiece encoder (its ids are SentencePiece ids for `.sentencePieceModel`,
    /// NLLB ids for `.tokenizerJSON`).
    public let sentencePiece: SentencePieceProcessor
    /// Added tokens, by id.
    public let addedTokens: [AddedToken]
    /// Language codes in id order (`additional_special_tokens`).
    public let languageCodes: [String]
    /// `legacy_behaviour`: `tokens </s> [lang]` instead of `[lang] tokens </s>`.
    public let legacyBehaviour: Bool
    /// `clean_up_tokenization_spaces` of tokenizer_config.json, applied by `decode`.
    public let cleanUpTokenizationSpaces: Bool
    /// `src_lang` of tokenizer_config.json (transformers' default source language).
    public let defaultSourceLanguage: String

    /// `<s>` (0 in NLLB; never added to inputs).
    public let bosID: Int
    /// `<pad>` (1).
    public let padID: Int
    /// `</s>` (2): ends every sentence; NLLB's decoder start token.
    public let eosID: Int
    /// `<unk>` (3): characters the vocabulary cannot spell.
    public let unkID: Int
    /// Id of `<mask>`, nil when the files define none.
    public let maskID: Int?

    /// All ids: pieces, specials, language codes and `<mask>` (`len(tokenizer)`).
    public let vocabularySize: Int
    /// `<s>`, `<pad>`, `</s>`, `<unk>`, `<mask>`, the language codes and any other special added token.
    public let specialTokenIDs: Set<Int>

    /// transformers' `vocab_size`: SentencePiece pieces + the fairseq offset.
    let baseVocabularySize: Int
    private let fairseqOffset: Int
    private let prependScheme: String
    private let collapseContent: Unicode.Scalar
    private let addedByID: [Int: AddedToken]
    private let addedByContent: [String: AddedToken]
    private let languageIDs: [String: Int]
    /// Added tokens sorted for leftmost-longest matching, as unicode scalars.
    private let matchTable: [Unicode.Scalar: [(scalars: [Unicode.Scalar], token: AddedToken)]]
    private let specialContents: Set<String>
    private let legacyAddedContents: Set<String>

    // MARK: Loading

    /// The file names transformers uses in an NLLB folder.
    public static let sentencePieceFileName = "sentencepiece.bpe.model"
    public static let tokenizerJSONFileName = "tokenizer.json"
    public static let configFileName = "tokenizer_config.json"

    /// Loads the tokenizer of a model folder.
    ///
    /// - Parameters:
    ///   - folder: holds `sentencepiece.bpe.model` and/or `tokenizer.json`, usually with
    ///     `tokenizer_config.json`.
    ///   - preferring: which file supplies the pieces when both exist; nil (the default) picks
    ///     as transformers does (`tokenizer.json`, or the `.model` under `"from_slow": true`).
    ///     Both give the same ids.
    ///   - bareModelLayout: ids of language codes and `<mask>` when no file lists them.
    public init(
        folder: URL, preferring: VocabularySource? = nil,
        bareModelLayout: BareModelLayout = .published
    ) throws {
        let fm = FileManager.default
        let modelURL = folder.appendingPathComponent(Self.sentencePieceFileName)
        let jsonURL = folder.appendingPathComponent(Self.tokenizerJSONFileName)
        let configURL = folder.appendingPathComponent(Self.configFileName)
        let hasModel = fm.fileExists(atPath: modelURL.path)
        let hasJSON = fm.fileExists(atPath: jsonURL.path)
        guard hasModel || hasJSON else {
            throw NLLBTokenizerError.missingTokenizerFiles(folder: folder.path)
        }
        let config = fm.fileExists(atPath: configURL.path) ? try NLLBHuggingFaceFiles.readConfig(configURL) : nil
        let fromSlow = config?.fromSlow ?? false
        let source = preferring ?? (fromSlow ? .sentencePieceModel : .tokenizerJSON)
        if hasModel && (source == .sentencePieceModel || !hasJSON) {
            var added = config?.addedTokens
            if added == nil && hasJSON && !fromSlow { added = try NLLBHuggingFaceFiles.readAddedTokens(jsonURL) }
            try self.init(
                sentencePieceModel: modelURL, addedTokens: added, config: config, bareModelLayout: bareModelLayout)
        } else {
            try self.init(tokenizerJSON: jsonURL, config: config)
        }
    }

    /// Builds the tokenizer from a bare `sentencepiece.bpe.model`, computing the ids of
    /// the language codes and `<mask>` with `bareModelLayout`.
    public init(
        sentencePieceModel url: URL, bareModelLayout: BareModelLayout = .published,
        languageCodes: [String] = FloresLanguages.codes
    ) throws {
        var config = NLLBHuggingFaceFiles.Config()
        config.additionalSpecialTokens = languageCodes
        try self.init(sentencePieceModel: url, addedTokens: nil, config: config, bareModelLayout: bareModelLayout)
    }

    /// Builds the tokenizer from `tokenizer.json` (and `tokenizer_config.json` when given).
    public init(tokenizerJSON url: URL, config configURL: URL? = nil) throws {
        let config = try configURL.map { try NLLBHuggingFaceFiles.readConfig($0) }
        try self.init(tokenizerJSON: url, config: config)
    }

    private init(
        sentencePieceModel url: URL, addedTokens: [AddedToken]?, config: NLLBHuggingFaceFiles.Config?,
        bareModelLayout: BareModelLayout
    ) throws {
        let processor: SentencePieceProcessor
        do {
            processor = try SentencePieceProcessor(contentsOf: url)
        } catch let error as SentencePieceError {
            throw NLLBTokenizerError.sentencePiece(error, path: url.path)
        }
        let base = processor.vocabularySize + 1
        var added = addedTokens ?? []
        let languages = config?.additionalSpecialTokens ?? FloresLanguages.codes
        if addedTokens == nil {
            added = [
                AddedToken(content: "<s>", id: 0, special: true), AddedToken(content: "<pad>", id: 1, special: true),
                AddedToken(content: "</s>", id: 2, special: true), AddedToken(content: "<unk>", id: 3, special: true),
            ]
            let mask = { (id: Int) in
                AddedToken(content: "<mask>", id: id, special: true, lstrip: true, normalized: true)
            }
            switch bareModelLayout {
            case .published:
                added += languages.enumerated().map {
                    AddedToken(content: $0.element, id: base + $0.offset, special: true)
                }
                added.append(mask(base + languages.count))
            case .transformersBareModel:
                added.append(mask(base))
                added += languages.enumerated().map {
                    AddedToken(content: $0.element, id: base + 1 + $0.offset, special: true)
                }
            }
        }
        try self.init(
            source: .sentencePieceModel, processor: processor, fairseqOffset: 1, baseVocabularySize: base,
            addedTokens: added, config: config, prependScheme: "always", collapseContent: "\u{2581}")
    }

    private init(tokenizerJSON url: URL, config: NLLBHuggingFaceFiles.Config?) throws {
        let file = try NLLBHuggingFaceFiles.readTokenizerFile(url)
        guard let processor = file.processor else {
            throw NLLBTokenizerError.unsupportedTokenizerJSON(path: url.path, reason: "no model")
        }
        if let configTokens = config?.addedTokens {
            let a = Dictionary(file.addedTokens.map { ($0.id, $0.content) }, uniquingKeysWith: { x, _ in x })
            let b = Dictionary(configTokens.map { ($0.id, $0.content) }, uniquingKeysWith: { x, _ in x })
            if a != b {
                let differing = Set(a.keys).union(b.keys).filter { a[$0] != b[$0] }.sorted().prefix(3)
                throw NLLBTokenizerError.inconsistentFiles(
                    reason: "tokenizer.json and tokenizer_config.json give "
                        + "different added tokens (ids \(differing.map(String.init).joined(separator: ", ")))")
            }
        }
        try self.init(
            source: .tokenizerJSON, processor: processor, fairseqOffset: 0,
            baseVocabularySize: processor.vocabularySize, addedTokens: file.addedTokens, config: config,
            prependScheme: file.prependScheme, collapseContent: file.collapseContent)
    }

    private init(
        source: VocabularySource, processor: SentencePieceProcessor, fairseqOffset: Int, baseVocabularySize: Int,
        addedTokens: [AddedToken], config: NLLBHuggingFaceFiles.Config?, prependScheme: String,
        collapseContent: Unicode.Scalar
    ) throws {
        self.collapseContent = collapseContent
        self.vocabularySource = source
        self.sentencePiece = processor
        self.fairseqOffset = fairseqOffset
        self.baseVocabularySize = baseVocabularySize
        self.prependScheme = prependScheme
        self.legacyBehaviour = config?.legacyBehaviour ?? false
        self.cleanUpTokenizationSpaces = config?.cleanUpTokenizationSpaces ?? false

        var byID: [Int: AddedToken] = [:]
        var byContent: [String: AddedToken] = [:]
        for token in addedTokens {
            if let other = byID[token.id], other.content != token.content {
                throw NLLBTokenizerError.inconsistentFiles(
                    reason: "id \(token.id) is both \(other.content) and "
                        + "\(token.content)")
            }
            byID[token.id] = token
            if byContent[token.content] == nil { byContent[token.content] = token }
        }
        self.addedTokens = byID.values.sorted { $0.id < $1.id }
        self.addedByID = byID
        self.addedByContent = byContent

        let names = config?.specialTokenNames ?? [:]
        func id(_ key: String, _ fallback: String) throws -> Int {
            let content = names[key] ?? fallback
            guard let token = byContent[content] else {
                throw NLLBTokenizerError.inconsistentFiles(
                    reason: "the \(key) \(content) is not among the added "
                        + "tokens")
            }
            return token.id
        }
        self.bosID = try id("bos_token", "<s>")
        self.padID = try id("pad_token", "<pad>")
        self.eosID = try id("eos_token", "</s>")
        self.unkID = try id("unk_token", "<unk>")
        self.maskID = byContent[names["mask_token"] ?? "<mask>"]?.id

        // Language codes: `additional_special_tokens`, else the added special tokens that look like xxx_Xxxx.
        var languages =
            config?.additionalSpecialTokens
            ?? self.addedTokens.filter { $0.special && Self.looksLikeLanguageCode($0.content) }.map(\.content)
        languages = languages.filter { byContent[$0] != nil }
        languages.sort { byContent[$0]!.id < byContent[$1]!.id }
        self.languageCodes = languages
        self.languageIDs = Dictionary(languages.map { ($0, byContent[$0]!.id) }, uniquingKeysWith: { a, _ in a })
        self.defaultSourceLanguage =
            config?.sourceLanguage ?? (languages.contains("eng_Latn") ? "eng_Latn" : languages.first ?? "")

        let maxAdded = self.addedTokens.last?.id ?? -1
        self.vocabularySize = max(baseVocabularySize, maxAdded + 1)

        // transformers' all_special_tokens: bos, eos, unk, sep (= eos), pad, cls (= bos), mask, additional specials.
        var specialContents = Set(
            ["bos_token", "eos_token", "unk_token", "pad_token", "mask_token", "sep_token", "cls_token"]
                .compactMap { key -> String? in
                    names[key]
                        ?? [
                            "bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>", "pad_token": "<pad>",
                            "mask_token": "<mask>", "sep_token": "</s>", "cls_token": "<s>",
                        ][key]
                }
                .filter { byContent[$0] != nil })
        specialContents.formUnion(languages)
        self.specialContents = specialContents
        var specialIDs = Set(specialContents.compactMap { byContent[$0]?.id })
        specialIDs.formUnion(self.addedTokens.filter(\.special).map(\.id))
        self.specialTokenIDs = specialIDs
        // Slow decode keeps these apart (joined with spaces): non-special added tokens and
        // language codes at or above `vocab_size`.
        self.legacyAddedContents = Set(self.addedTokens.filter { !specialContents.contains($0.content) }.map(\.content))
            .union(languages.filter { (byContent[$0]?.id ?? 0) >= baseVocabularySize })

        var table: [Unicode.Scalar: [(scalars: [Unicode.Scalar], token: AddedToken)]] = [:]
        for token in byContent.values {
            let scalars = Array(token.content.unicodeScalars)
            table[scalars[0], default: []].append((scalars, token))
        }
        for key in table.keys { table[key]!.sort { $0.scalars.count > $1.scalars.count } }
        self.matchTable = table
    }

    static func looksLikeLanguageCode(_ s: String) -> Bool {
        let u = Array(s.unicodeScalars)
        guard u.count == 8, u[3] == "_" else { return false }
        return u[0..<3].allSatisfy { ("a"..."z").contains($0) } && ("A"..."Z").contains(u[4])
            && u[5..<8].allSatisfy { ("a"..."z").contains($0) }
    }

    // MARK: Ids

    /// The id of a language code; throws with suggestions for an unknown code.
    public func languageTokenID(_ code: String) throws -> Int {
        if let id = languageIDs[code] { return id }
        throw NLLBTokenizerError.unknownLanguageCode(
            code, suggestions: FloresLanguages.suggestions(for: code, among: languageCodes))
    }

    /// The language code of an id, nil when the id is not a language token.
    public func languageCode(forTokenID id: Int) -> String? {
        guard let token = addedByID[id], languageIDs[token.content] == id else { return nil }
        return token.content
    }

    /// The token string of an id (added token content or SentencePiece piece), nil when out of range.
    public func token(forID id: Int) -> String? {
        if let added = addedByID[id] { return added.content }
        return sentencePiece.idToPiece(id - fairseqOffset)
    }

    /// The id of a token string as `convert_tokens_to_ids` gives it (`<unk>`'s id when unknown).
    public func id(forToken token: String) -> Int {
        if let added = addedByContent[token] { return added.id }
        return nllbID(sentencePiece.pieceToID(token))
    }

    private func nllbID(_ spmID: Int) -> Int {
        guard fairseqOffset != 0 else { return spmID }
        // transformers: `spm_id + fairseq_offset if spm_id else unk_token_id`.
        return spmID == 0 ? unkID : spmID + fairseqOffset
    }

    // MARK: Encoding

    /// Which transformers tokenizer `encode` reproduces.
    public enum EncodingStyle: Sendable, Equatable {
        /// `NLLBTokenizer` (SentencePiece semantics). The default.
        case slow
        /// `NllbTokenizerFast` (HF `tokenizers`): Precompiled normalization per grapheme
        /// cluster, `<mask>` matched after normalization, Metaspace words.
        case fast
    }

    /// Text to ids without language code or `</s>` (`tokenizer.encode(text, add_special_tokens=False)`
    /// of the slow `NLLBTokenizer`).
    public func encode(_ text: String) -> [Int] {
        encode(text, style: .slow)
    }

    /// Text to ids without language code or `</s>`, as the slow or the fast transformers tokenizer.
    public func encode(_ text: String, style: EncodingStyle) -> [Int] {
        switch style {
        case .slow: return encodeSlow(text)
        case .fast: return encodeFast(text)
        }
    }

    private func encodeSlow(_ text: String) -> [Int] {
        var ids: [Int] = []
        let segments = split(Array(text.unicodeScalars), matching: { _ in true }, isWhitespace: Self.isPythonWhitespace)
        for segment in segments {
            switch segment {
            case .token(let token):
                ids.append(token.id)
            case .text(let chunk, let atStart):
                guard !chunk.isEmpty else { continue }
                let prefix: Bool? = prependScheme == "first" ? atStart : (prependScheme == "never" ? false : nil)
                ids += sentencePiece.encode(Self.string(chunk), addDummyPrefix: prefix).map(nllbID)
            }
        }
        return ids
    }

    /// `NllbTokenizerFast`: split on non-normalized added tokens in the raw text; normalize
    /// each chunk (Precompiled per grapheme, strip right, `" {2,}"` -> `▁`); split on
    /// normalized added tokens (`<mask>`, lstrip); Metaspace (spaces -> `▁`, prepend `▁`,
    /// split before each `▁`); segment each word.
    private func encodeFast(_ text: String) -> [Int] {
        var ids: [Int] = []
        let isWhitespace: (Unicode.Scalar) -> Bool = { $0.properties.isWhitespace }
        for segment in split(Array(text.unicodeScalars), matching: { !$0.normalized }, isWhitespace: isWhitespace) {
            switch segment {
            case .token(let token):
                ids.append(token.id)
            case .text(let chunk, let atStart):
                guard !chunk.isEmpty else { continue }
                var normalized = Array(
                    sentencePiece.normalizer.huggingFacePrecompiled(Self.string(chunk)).unicodeScalars)
                while let last = normalized.last, last.properties.isWhitespace { normalized.removeLast() }
                if sentencePiece.model.normalizerSpec.removeExtraWhitespaces {
                    normalized = Self.collapsingSpaceRuns(normalized, into: collapseContent)
                }
                for inner in split(normalized, matching: { $0.normalized }, isWhitespace: isWhitespace) {
                    switch inner {
                    case .token(let token):
                        ids.append(token.id)
                    case .text(let piece, let pieceAtStart):
                        ids += metaspaceEncode(
                            piece,
                            prepend: prependScheme == "always" || (prependScheme == "first" && atStart && pieceAtStart))
                    }
                }
            }
        }
        return ids
    }

    /// `Replace(Regex(" {2,}"), content)`.
    private static func collapsingSpaceRuns(_ scalars: [Unicode.Scalar], into content: Unicode.Scalar) -> [Unicode
        .Scalar]
    {
        var out: [Unicode.Scalar] = []
        var i = 0
        while i < scalars.count {
            if scalars[i] == " " {
                var j = i
                while j < scalars.count && scalars[j] == " " { j += 1 }
                out.append(j - i >= 2 ? content : " ")
                i = j
            } else {
                out.append(scalars[i])
                i += 1
            }
        }
        return out
    }

    private func metaspaceEncode(_ piece: [Unicode.Scalar], prepend: Bool) -> [Int] {
        guard !piece.isEmpty else { return [] }
        var text = piece.map { $0 == " " ? "\u{2581}" : $0 }
        if prepend && text.first != "\u{2581}" { text.insert("\u{2581}", at: 0) }
        let bytes = Array(Self.string(text).utf8)
        var ids: [Int] = []
        var wordStart = 0
        var i = 0
        func flush(_ end: Int) {
            if end > wordStart {
                ids += sentencePiece.encodeNormalized(Array(bytes[wordStart..<end])).map { nllbID($0.id) }
            }
            wordStart = end
        }
        while i < bytes.count {
            if i > 0, bytes[i] == 0xE2, i + 2 < bytes.count, bytes[i + 1] == 0x96, bytes[i + 2] == 0x81 { flush(i) }
            i += 1
        }
        flush(bytes.count)
        return ids
    }

    /// A source sentence: `[language] tokens </s>` (legacy: `tokens </s> [language]`).
    public func encodeSource(_ text: String, language: String, style: EncodingStyle = .slow) throws -> [Int] {
        try wrap(encode(text, style: style), language: language)
    }

    /// A target sentence (labels / forced decoder prefix), as transformers'
    /// `set_tgt_lang_special_tokens`: `[language] tokens </s>` (legacy: `tokens </s> [language]`).
    public func encodeTarget(_ text: String, language: String, style: EncodingStyle = .slow) throws -> [Int] {
        try wrap(encode(text, style: style), language: language)
    }

    private func wrap(_ ids: [Int], language: String) throws -> [Int] {
        let lang = try languageTokenID(language)
        return legacyBehaviour ? ids + [eosID, lang] : [lang] + ids + [eosID]
    }

    private enum Segment {
        case text([Unicode.Scalar], atStart: Bool)
        case token(AddedToken)
    }

    private static func string(_ scalars: [Unicode.Scalar]) -> String {
        var view = String.UnicodeScalarView()
        view.append(contentsOf: scalars)
        return String(view)
    }

    /// Leftmost-longest split on the added tokens accepted by `matching` (transformers'
    /// `tokens_trie.split`, tokenizers' added-vocabulary split), then `lstrip`/`rstrip`:
    /// whitespace next to such a token is removed from the neighbouring text.
    private func split(
        _ scalars: [Unicode.Scalar], matching: (AddedToken) -> Bool,
        isWhitespace: (Unicode.Scalar) -> Bool
    ) -> [Segment] {
        var parts: [(start: Int, end: Int, token: AddedToken?)] = []
        var textStart = 0
        var i = 0
        outer: while i < scalars.count {
            if let candidates = matchTable[scalars[i]] {
                for (key, token) in candidates where i + key.count <= scalars.count && matching(token) {
                    var matches = true
                    for k in 1..<max(key.count, 1) where scalars[i + k] != key[k] {
                        matches = false
                        break
                    }
                    if matches {
                        if textStart < i { parts.append((textStart, i, nil)) }
                        parts.append((i, i + key.count, token))
                        i += key.count
                        textStart = i
                        continue outer
                    }
                }
            }
            i += 1
        }
        if textStart < scalars.count { parts.append((textStart, scalars.count, nil)) }

        var texts: [[Unicode.Scalar]?] = parts.map { $0.token == nil ? Array(scalars[$0.start..<$0.end]) : nil }
        for (index, part) in parts.enumerated() {
            guard let token = part.token else { continue }
            if token.rstrip, index + 1 < parts.count, let right = texts[index + 1] {
                texts[index + 1] = Array(right.drop(while: isWhitespace))
            }
            if token.lstrip, index > 0, let left = texts[index - 1] {
                var l = left
                while let last = l.last, isWhitespace(last) { l.removeLast() }
                texts[index - 1] = l
            }
        }
        return parts.enumerated().map { index, part in
            if let token = part.token { return .token(token) }
            return .text(texts[index]!, atStart: part.start == 0)
        }
    }

    /// Python's `str.isspace()` characters (what `str.strip()` removes).
    static func isPythonWhitespace(_ s: Unicode.Scalar) -> Bool {
        switch s.value {
        case 0x09...0x0D, 0x1C...0x20, 0x85, 0xA0, 0x1680, 0x2000...0x200A, 0x2028, 0x2029, 0x202F, 0x205F, 0x3000:
            return true
        default:
            return false
        }
    }

    private static func pythonStrip(_ s: String) -> String {
        var scalars = Array(s.unicodeScalars)
        while let last = scalars.last, isPythonWhitespace(last) { scalars.removeLast() }
        var view = String.UnicodeScalarView()
        view.append(contentsOf: scalars.drop(while: isPythonWhitespace))
        return String(view)
    }

    // MARK: Decoding

    /// Ids to text as transformers' `NLLBTokenizer.decode` (the `.slow` style).
    /// With `skipSpecialTokens`, `<s>`, `</s>`, `<pad>`, `<unk>`, `<mask>` and the language
    /// codes are dropped. Ids out of range are skipped.
    public func decode(_ ids: [Int], skipSpecialTokens: Bool) -> String {
        decode(ids, skipSpecialTokens: skipSpecialTokens, style: .slow)
    }

    /// Ids to text in the given style (`.slow`: `NLLBTokenizer`, `.fast`: `NllbTokenizerFast`).
    public func decode(_ ids: [Int], skipSpecialTokens: Bool, style: DecodeStyle) -> String {
        var text: String
        switch style {
        case .slow:
            var subTexts: [String] = []
            var current: [String] = []
            for id in ids {
                if skipSpecialTokens && specialTokenIDs.contains(id) { continue }
                guard let token = token(forID: id) else { continue }
                if skipSpecialTokens && specialContents.contains(token) { continue }
                if legacyAddedContents.contains(token) {
                    if !current.isEmpty {
                        let s = Self.piecesToString(current)
                        if !s.isEmpty { subTexts.append(s) }
                        current = []
                    }
                    subTexts.append(token)
                } else {
                    current.append(token)
                }
            }
            if !current.isEmpty { subTexts.append(Self.piecesToString(current)) }
            text = subTexts.joined(separator: " ")
        case .fast:
            text = ""
            var index = 0
            for id in ids {
                if skipSpecialTokens, let added = addedByID[id], added.special { continue }
                guard let token = token(forID: id) else { continue }
                text += Self.replacingSpaceSymbol(in: token, with: index == 0 && prependScheme != "never" ? nil : " ")
                index += 1
            }
        }
        return cleanUpTokenizationSpaces ? Self.cleanUpTokenization(text) : text
    }

    /// `convert_tokens_to_string`: join, `▁` -> space, strip.
    private static func piecesToString(_ tokens: [String]) -> String {
        pythonStrip(replacingSpaceSymbol(in: tokens.joined(), with: " "))
    }

    /// transformers' `clean_up_tokenization`.
    static func cleanUpTokenization(_ text: String) -> String {
        var s = Array(text.unicodeScalars)
        for (a, b) in [
            (" .", "."), (" ?", "?"), (" !", "!"), (" ,", ","), (" ' ", "'"), (" n't", "n't"), (" 'm", "'m"),
            (" 's", "'s"), (" 've", "'ve"), (" 're", "'re"),
        ] {
            s = replacingScalars(s, Array(a.unicodeScalars), Array(b.unicodeScalars))
        }
        return string(s)
    }

    /// Python's `str.replace` (code points, left to right, non-overlapping).
    private static func replacingScalars(_ s: [Unicode.Scalar], _ old: [Unicode.Scalar], _ new: [Unicode.Scalar])
        -> [Unicode.Scalar]
    {
        var out: [Unicode.Scalar] = []
        out.reserveCapacity(s.count)
        var i = 0
        while i < s.count {
            if i + old.count <= s.count && Array(s[i..<(i + old.count)]) == old {
                out += new
                i += old.count
            } else {
                out.append(s[i])
                i += 1
            }
        }
        return out
    }

    /// The bytes one id adds to streamed text (`NllbTokenizerFast` style): an added token
    /// is its content, a piece has `▁` turned into spaces, and with `isFirst` its `▁`s are
    /// dropped. Nil for an id out of range. Skip `specialTokenIDs` yourself when streaming
    /// generated text.
    public func bytes(forToken id: Int, isFirst: Bool) -> [UInt8]? {
        guard let token = token(forID: id) else { return nil }
        if addedByID[id] != nil { return Array(token.utf8) }
        return Array(Self.replacingSpaceSymbol(in: token, with: isFirst && prependScheme != "never" ? nil : " ").utf8)
    }

    /// Replaces every U+2581 scalar (not grapheme: `▁` + a combining mark is one
    /// Character) by `replacement`, or removes it when nil.
    static func replacingSpaceSymbol(in text: String, with replacement: Unicode.Scalar?) -> String {
        var view = String.UnicodeScalarView()
        for scalar in text.unicodeScalars {
            if scalar == "\u{2581}" {
                if let replacement { view.append(replacement) }
            } else {
                view.append(scalar)
            }
        }
        return String(view)
    }
}
