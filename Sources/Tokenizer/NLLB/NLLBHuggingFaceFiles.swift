import Foundation

/// Reading the Hugging Face files of an NLLB folder: `tokenizer.json` (NllbTokenizerFast)
/// and `tokenizer_config.json` (NLLBTokenizer).
enum NLLBHuggingFaceFiles {
    static func readJSONObject(_ url: URL) throws -> [String: Any] {
        let data: Data
        do {
            data = try Data(contentsOf: url)
        } catch {
            throw NLLBTokenizerError.unreadableFile(path: url.path, reason: error.localizedDescription)
        }
        let object: Any
        do {
            object = try JSONSerialization.jsonObject(with: data, options: [])
        } catch {
            throw NLLBTokenizerError.invalidJSON(
                path: url.path,
                reason: "not valid JSON "
                    + "(\(error.localizedDescription))")
        }
        guard let dict = object as? [String: Any] else {
            throw NLLBTokenizerError.invalidJSON(path: url.path, reason: "the top level is not a JSON object")
        }
        return dict
    }

    private static func int(_ value: Any?) -> Int? {
        if let i = value as? Int { return i }
        return (value as? NSNumber)?.intValue
    }

    private static func bool(_ value: Any?, default fallback: Bool) -> Bool {
        (value as? Bool) ?? (value as? NSNumber)?.boolValue ?? fallback
    }

    /// An added-token entry (`{"content": ..., "lstrip": ..., "special": ...}`).
    static func addedToken(_ entry: [String: Any], id: Int, path: String) throws -> NLLBTokenizer.AddedToken {
        guard let content = entry["content"] as? String, !content.isEmpty else {
            throw NLLBTokenizerError.invalidJSON(path: path, reason: "added token \(id) has no content")
        }
        return NLLBTokenizer.AddedToken(
            content: content, id: id,
            special: bool(entry["special"], default: false),
            lstrip: bool(entry["lstrip"], default: false),
            rstrip: bool(entry["rstrip"], default: false),
            singleWord: bool(entry["single_word"], default: false),
            normalized: bool(entry["normalized"], default: false))
    }

    // MARK: tokenizer_config.json

    struct Config {
        var addedTokens: [NLLBTokenizer.AddedToken]?
        var additionalSpecialTokens: [String]?
        var legacyBehaviour = false
        /// `from_slow`: transformers builds the fast tokenizer from the `.model`, ignoring tokenizer.json.
        var fromSlow = false
        var cleanUpTokenizationSpaces = false
        var sourceLanguage: String?
        var specialTokenNames: [String: String] = [:]
    }

    static func readConfig(_ url: URL) throws -> Config {
        let json = try readJSONObject(url)
        var config = Config()
        if let decoder = json["added_tokens_decoder"] as? [String: Any] {
            var tokens: [NLLBTokenizer.AddedToken] = []
            for (key, value) in decoder {
                guard let id = Int(key), id >= 0, let entry = value as? [String: Any] else {
                    throw NLLBTokenizerError.invalidJSON(
                        path: url.path,
                        reason: "added_tokens_decoder entry "
                            + "\(key.debugDescription) is not `\"id\": {token}`")
                }
                tokens.append(try addedToken(entry, id: id, path: url.path))
            }
            config.addedTokens = tokens.sorted { $0.id < $1.id }
        }
        if let list = json["additional_special_tokens"] as? [Any] {
            config.additionalSpecialTokens = list.compactMap {
                ($0 as? String) ?? (($0 as? [String: Any])?["content"] as? String)
            }
        }
        config.legacyBehaviour = bool(json["legacy_behaviour"], default: false)
        config.fromSlow = bool(json["from_slow"], default: false)
        config.cleanUpTokenizationSpaces = bool(json["clean_up_tokenization_spaces"], default: false)
        config.sourceLanguage = json["src_lang"] as? String
        for key in ["bos_token", "eos_token", "unk_token", "pad_token", "mask_token", "sep_token", "cls_token"] {
            if let s = json[key] as? String {
                config.specialTokenNames[key] = s
            } else if let d = json[key] as? [String: Any], let s = d["content"] as? String {
                config.specialTokenNames[key] = s
            }
        }
        return config
    }

    // MARK: tokenizer.json

    struct TokenizerFile {
        var addedTokens: [NLLBTokenizer.AddedToken]
        var processor: SentencePieceProcessor?
        /// Metaspace `prepend_scheme`: "always", "first" or "never".
        var prependScheme: String
        /// What the `Replace(" {2,}", …)` normalizer writes (U+2581, or a space in older files).
        var collapseContent: Unicode.Scalar = "\u{2581}"
    }

    /// Reads the added tokens only (cheap path when the `.model` supplies the pieces).
    static func readAddedTokens(_ url: URL) throws -> [NLLBTokenizer.AddedToken] {
        try addedTokens(of: readJSONObject(url), path: url.path)
    }

    private static func addedTokens(of json: [String: Any], path: String) throws -> [NLLBTokenizer.AddedToken] {
        guard let list = json["added_tokens"] as? [[String: Any]] else { return [] }
        return try list.map { entry in
            guard let id = int(entry["id"]), id >= 0 else {
                throw NLLBTokenizerError.invalidJSON(path: path, reason: "an added token has no valid id")
            }
            return try addedToken(entry, id: id, path: path)
        }.sorted { $0.id < $1.id }
    }

    /// Reads `tokenizer.json` and rebuilds an equivalent SentencePiece model whose ids
    /// are the file's ids. BPE files are merged by merge rank (the file's own rule),
    /// unigram files by piece score; normalization uses the Precompiled charsmap with
    /// sentencepiece's whitespace rules (what the slow tokenizer does).
    static func readTokenizerFile(_ url: URL) throws -> TokenizerFile {
        let path = url.path
        let json = try readJSONObject(url)
        try NLLBTokenizerFileChecks.check(json, path: path)
        let added = try addedTokens(of: json, path: path)
        func unsupported(_ reason: String) -> NLLBTokenizerError {
            .unsupportedTokenizerJSON(path: path, reason: reason)
        }

        // Normalizer: [Precompiled] + Strip(right) + Replace(" {2,}", "▁") for NLLB.
        var charsmap: [UInt8] = []
        var collapsesSpaces = false
        var collapseContent: Unicode.Scalar = "\u{2581}"
        var normalizers: [[String: Any]] = []
        if let normalizer = json["normalizer"] as? [String: Any] {
            if normalizer["type"] as? String == "Sequence" {
                normalizers = normalizer["normalizers"] as? [[String: Any]] ?? []
            } else {
                normalizers = [normalizer]
            }
        }
        for n in normalizers {
            switch n["type"] as? String {
            case "Precompiled":
                guard let b64 = n["precompiled_charsmap"] as? String, let data = Data(base64Encoded: b64) else {
                    if n["precompiled_charsmap"] is NSNull { continue }
                    throw NLLBTokenizerError.invalidJSON(
                        path: path,
                        reason: "the Precompiled normalizer's "
                            + "charsmap is not base64")
                }
                charsmap = [UInt8](data)
            case "Strip":
                break
            case "Replace":
                // transformers' converters: Replace(Regex(" {2,}"), "▁") (4.4x+) or " " (older files).
                let pattern = n["pattern"] as? [String: Any]
                let regex = pattern?["Regex"] as? String
                let content = n["content"] as? String
                if regex == " {2,}" && (content == "\u{2581}" || content == " ") {
                    collapsesSpaces = true
                    collapseContent = content == " " ? " " : "\u{2581}"
                } else {
                    throw unsupported("a Replace normalizer other than the SentencePiece whitespace collapse")
                }
            case let other:
                throw unsupported("normalizer \(other ?? "?") is not reproduced")
            }
        }

        // Pre-tokenizer: Metaspace("▁").
        var metaspace: [String: Any]?
        if let pre = json["pre_tokenizer"] as? [String: Any] {
            if pre["type"] as? String == "Metaspace" {
                metaspace = pre
            } else if pre["type"] as? String == "Sequence", let list = pre["pretokenizers"] as? [[String: Any]] {
                // [Metaspace] or [WhitespaceSplit, Metaspace] (older converters): both split
                // where SentencePiece puts U+2581.
                let types = list.map { $0["type"] as? String ?? "" }
                guard types == ["Metaspace"] || types == ["WhitespaceSplit", "Metaspace"] else {
                    throw unsupported("the pre-tokenizer \(types) is not Metaspace")
                }
                metaspace = list.last
            }
        }
        guard let metaspace else { throw unsupported("no Metaspace pre-tokenizer") }
        guard (metaspace["replacement"] as? String ?? "▁") == "▁" else {
            throw unsupported("Metaspace replacement is not U+2581")
        }
        var prependScheme = metaspace["prepend_scheme"] as? String ?? "always"
        if metaspace["prepend_scheme"] == nil, let addPrefix = metaspace["add_prefix_space"] as? Bool {
            prependScheme = addPrefix ? "always" : "never"
        }

        guard let model = json["model"] as? [String: Any], let type = model["type"] as? String else {
            throw NLLBTokenizerError.invalidJSON(path: path, reason: "no model")
        }
        let byteFallback = bool(model["byte_fallback"], default: false)
        var pieces: [SentencePieceModel.Piece] = []
        var unkID: Int?
        var mergeRanks: [UInt64: SentencePieceProcessor.MergeRule]?
        var modelType = SentencePieceModel.ModelType.bpe

        switch type {
        case "BPE":
            guard let vocab = model["vocab"] as? [String: Any] else {
                throw NLLBTokenizerError.invalidJSON(path: path, reason: "the BPE model has no vocab")
            }
            var byID = [String?](repeating: nil, count: vocab.count)
            for (piece, value) in vocab {
                guard let id = int(value), id >= 0, id < vocab.count, byID[id] == nil else {
                    throw NLLBTokenizerError.invalidJSON(
                        path: path,
                        reason: "BPE vocab ids are not "
                            + "0..<\(vocab.count) (piece \(piece.debugDescription))")
                }
                byID[id] = piece
            }
            pieces = byID.map { .init(piece: $0!, score: 0) }
            if let unk = model["unk_token"] as? String {
                guard let id = int(vocab[unk]) else {
                    throw NLLBTokenizerError.invalidJSON(path: path, reason: "unk_token \(unk) is not in the vocab")
                }
                unkID = id
            }
            var ranks: [UInt64: SentencePieceProcessor.MergeRule] = [:]
            let merges = model["merges"] as? [Any] ?? []
            for (rank, merge) in merges.enumerated() {
                let pair: [String]
                if let s = merge as? String {
                    // Split on the first U+0020 scalar (a Character search would miss a space
                    // followed by a combining mark: they form one grapheme).
                    let scalars = s.unicodeScalars
                    guard let space = scalars.firstIndex(of: " ") else { continue }
                    pair = [String(scalars[..<space]), String(scalars[scalars.index(after: space)...])]
                } else if let a = merge as? [String], a.count == 2 {
                    pair = a
                } else {
                    throw NLLBTokenizerError.invalidJSON(
                        path: path,
                        reason: "merge \(rank) is neither \"a b\" nor "
                            + "[a, b]")
                }
                guard let left = int(vocab[pair[0]]), let right = int(vocab[pair[1]]),
                    let merged = int(vocab[pair[0] + pair[1]])
                else { continue }
                let key = UInt64(UInt32(left)) << 32 | UInt64(UInt32(right))
                if ranks[key] == nil { ranks[key] = .init(rank: Int32(rank), merged: Int32(merged)) }
            }
            mergeRanks = ranks
        case "Unigram":
            modelType = .unigram
            guard let vocab = model["vocab"] as? [[Any]] else {
                throw NLLBTokenizerError.invalidJSON(path: path, reason: "the Unigram model has no vocab")
            }
            pieces = try vocab.enumerated().map { (id, entry) in
                guard entry.count == 2, let piece = entry[0] as? String, let score = (entry[1] as? NSNumber)?.floatValue
                else {
                    throw NLLBTokenizerError.invalidJSON(
                        path: path,
                        reason: "Unigram vocab entry \(id) is not "
                            + "[piece, score]")
                }
                return .init(piece: piece, score: score)
            }
            unkID = int(model["unk_id"])
        default:
            throw unsupported("model type \(type) (only BPE and Unigram)")
        }
        guard let unk = unkID, pieces.indices.contains(unk) else { throw unsupported("the model has no unknown token") }

        // Piece types: the unknown token; special added tokens are control symbols,
        // other added tokens inside the vocabulary are user-defined symbols.
        for token in added where token.id < pieces.count && token.id != unk {
            guard pieces[token.id].piece == token.content else {
                throw NLLBTokenizerError.inconsistentFiles(
                    reason: "added token \(token.content) has id "
                        + "\(token.id), which is \(pieces[token.id].piece) in the vocab of \(path)")
            }
            pieces[token.id].type = token.special ? .control : .userDefined
        }
        pieces[unk].type = .unknown
        if byteFallback {
            for i in pieces.indices
            where pieces[i].type == .normal && SentencePieceModel.byteValue(ofPiece: pieces[i].piece) != nil {
                pieces[i].type = .byte
            }
        }
        if let ranks = mergeRanks {
            // sentencepiece never merges into control or unknown pieces.
            mergeRanks = ranks.filter {
                pieces[Int($0.value.merged)].type == .normal || pieces[Int($0.value.merged)].type == .userDefined
            }
        }

        var trainer = SentencePieceModel.TrainerSpec()
        trainer.modelType = modelType
        trainer.byteFallback = byteFallback
        trainer.unkID = unk
        var normalizer = SentencePieceModel.NormalizerSpec()
        normalizer.name = charsmap.isEmpty ? "identity" : "precompiled"
        normalizer.precompiledCharsmap = charsmap
        normalizer.addDummyPrefix = prependScheme != "never"
        normalizer.removeExtraWhitespaces = collapsesSpaces
        normalizer.escapeWhitespaces = true
        do {
            let spm = try SentencePieceModel(pieces: pieces, trainerSpec: trainer, normalizerSpec: normalizer)
            let processor = try SentencePieceProcessor(model: spm, mergeRanks: mergeRanks)
            return TokenizerFile(
                addedTokens: added, processor: processor, prependScheme: prependScheme,
                collapseContent: collapseContent)
        } catch let error as SentencePieceError {
            throw unsupported("its vocabulary is not a valid SentencePiece vocabulary: \(error)")
        }
    }
}
