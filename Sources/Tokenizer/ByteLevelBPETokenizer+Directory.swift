import Foundation

extension ByteLevelBPETokenizer {
    /// Loads the tokenizer of a Hugging Face model folder the way
    /// `GPT2TokenizerFast.from_pretrained(folder)` (transformers 4.57) does:
    ///
    /// - `tokenizer.json` is preferred when present; otherwise `vocab.json` + `merges.txt`.
    /// - `tokenizer_config.json` may declare added tokens (`added_tokens_decoder`) and the
    ///   special tokens (`bos_token`, `eos_token`, `unk_token`, `sep_token`, `pad_token`,
    ///   `cls_token`, `mask_token`, `additional_special_tokens`). Without
    ///   `added_tokens_decoder` (the older layout), `special_tokens_map.json` overrides those
    ///   and `added_tokens.json` lists added tokens, as transformers reads them.
    /// - For a GPT-2 tokenizer class (or none named), BOS/EOS/UNK default to
    ///   `<|endoftext|>`, so that token is special even in a bare vocab.json + merges.txt folder.
    /// - `add_prefix_space` comes from tokenizer_config.json, default false: transformers
    ///   overrides tokenizer.json's ByteLevel setting with it.
    /// - `clean_up_tokenization_spaces` comes from tokenizer_config.json, default false.
    public static func load(directory: URL) throws -> ByteLevelBPETokenizer {
        let fileManager = FileManager.default
        var isDirectory: ObjCBool = false
        guard fileManager.fileExists(atPath: directory.path, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw TokenizerError.missingFile(
                path: directory.path,
                hint: "Pass the folder of a Hugging Face model "
                    + "(it holds tokenizer.json or vocab.json and merges.txt).")
        }
        let configURL = directory.appendingPathComponent("tokenizer_config.json")
        let config = try TokenizerFiles.optionalJSONObject(configURL)
        let configPath = configURL.path

        let tokenizerJSONURL = directory.appendingPathComponent("tokenizer.json")
        let vocabularyURL = directory.appendingPathComponent("vocab.json")
        let mergesURL = directory.appendingPathComponent("merges.txt")
        let hasTokenizerJSON = fileManager.fileExists(atPath: tokenizerJSONURL.path)
        if !hasTokenizerJSON && !fileManager.fileExists(atPath: vocabularyURL.path)
            && !fileManager.fileExists(atPath: mergesURL.path)
        {
            throw TokenizerError.noTokenizerFiles(directory: directory.path)
        }

        // transformers (4.57) converts add_prefix_space to a Rust bool when it builds from
        // vocab.json + merges.txt (anything but true/false fails, null included); beside a
        // tokenizer.json only `true` takes effect, any other value reads as false.
        let addPrefixSpace: Bool
        switch config?["add_prefix_space"] {
        case nil: addPrefixSpace = false
        case .bool(let value)?: addPrefixSpace = value
        case let other? where !hasTokenizerJSON:
            throw TokenizerError.invalidField(
                path: configPath, field: "add_prefix_space", reason: "should be true or false, found \(other.kindName)")
        case _?: addPrefixSpace = false
        }
        let cleanUp = config?.truthy("clean_up_tokenization_spaces", default: false) ?? false
        // transformers calls .keys() on it (a list is accepted too): anything else fails there.
        switch config?["extra_special_tokens"] {
        case nil, .null?, .object?, .array?: break
        case let other?:
            throw TokenizerError.invalidField(
                path: configPath, field: "extra_special_tokens", reason: "should be an object, found \(other.kindName)")
        }
        let declared = try declaredTokens(directory: directory, config: config, configPath: configPath)

        let addDeclared: (inout AddedVocabulary) -> Void = { vocabulary in
            for token in declared.addedTokens {
                // Tokens already present with the same options are left alone.
                if let existing = vocabulary.token(withContent: token.content), existing.sameOptions(as: token) {
                    continue
                }
                var token = token
                token.special = token.special || declared.specialContents.contains(token.content)
                vocabulary.add(token)
            }
            for special in declared.specialTokens where vocabulary.token(withContent: special.content) == nil {
                vocabulary.add(special)
            }
        }

        if hasTokenizerJSON {
            let file = try TokenizerJSON(contentsOf: tokenizerJSONURL)
            return try ByteLevelBPETokenizer(
                file: file, path: tokenizerJSONURL.path, addPrefixSpace: addPrefixSpace,
                extraTokens: addDeclared, cleanUpTokenizationSpaces: cleanUp)
        }
        let model = try ByteLevelBPETokenizer.model(
            vocabularyURL: vocabularyURL, mergesURL: mergesURL, asSlowTokenizer: true)
        var added = AddedVocabulary(baseVocabulary: model.vocabulary)
        addDeclared(&added)
        return ByteLevelBPETokenizer(
            model: model, addedVocabulary: added, addPrefixSpace: addPrefixSpace,
            useRegex: true, cleanUpTokenizationSpaces: cleanUp)
    }

    private struct DeclaredTokens {
        /// Added tokens in id order (tokenizer_config.json or added_tokens.json).
        var addedTokens: [AddedToken] = []
        /// BOS, EOS, ... and additional special tokens, in transformers' attribute order.
        var specialTokens: [AddedToken] = []
        var specialContents: Set<String> = []
    }

    private static let specialAttributes = [
        "bos_token", "eos_token", "unk_token", "sep_token", "pad_token", "cls_token", "mask_token",
    ]

    private static func declaredTokens(directory: URL, config: JSONObject?, configPath: String) throws -> DeclaredTokens
    {
        var result = DeclaredTokens()
        let tokenizerClass = try config?.string("tokenizer_class", path: configPath)
        let isGPT2Class =
            tokenizerClass == nil || tokenizerClass == "GPT2Tokenizer" || tokenizerClass == "GPT2TokenizerFast"

        // Special token attributes: GPT-2 defaults, then tokenizer_config.json (an explicit
        // null removes a default), then special_tokens_map.json in the older layout.
        var attributes: [String: AddedToken?] = [:]
        if isGPT2Class {
            for name in ["bos_token", "eos_token", "unk_token"] {
                attributes[name] = AddedToken(content: endOfText, id: 0, special: true, normalized: true)
            }
        }
        var additional: [AddedToken] = []
        if let config {
            for name in specialAttributes where config[name] != nil {
                attributes[name] = try specialToken(config[name]!, path: configPath, field: name)
            }
            additional = try specialTokenList(config["additional_special_tokens"], path: configPath)
        }
        let newLayout = config?["added_tokens_decoder"] != nil
        if newLayout {
            guard case .object(let decoder)? = config?["added_tokens_decoder"] else {
                throw TokenizerError.invalidField(
                    path: configPath, field: "added_tokens_decoder", reason: "should be an object mapping ids to tokens"
                )
            }
            var entries: [AddedToken] = []
            for member in decoder.members {
                let (key, value) = (member.key, member.value)
                guard let id = Int(key), id >= 0 else {
                    throw TokenizerError.invalidField(
                        path: configPath, field: "added_tokens_decoder[\(key.debugDescription)]",
                        reason: "has a key that is not an id")
                }
                guard
                    var token = try specialToken(
                        value, path: configPath, field: "added_tokens_decoder[\(key)]", defaultSpecial: false)
                else { continue }
                token.id = id
                entries.append(token)
            }
            result.addedTokens = entries.sorted { $0.id < $1.id }
        } else {
            let mapURL = directory.appendingPathComponent("special_tokens_map.json")
            if let map = try TokenizerFiles.optionalJSONObject(mapURL) {
                for name in specialAttributes where map[name] != nil {
                    attributes[name] = try specialToken(map[name]!, path: mapURL.path, field: name)
                }
                for token in try specialTokenList(map["additional_special_tokens"], path: mapURL.path)
                where !additional.contains(where: { $0.content == token.content }) {
                    additional.append(token)
                }
            }
        }
        var specials: [AddedToken] = []
        for name in specialAttributes {
            if let token = attributes[name] ?? nil, !specials.contains(where: { $0.content == token.content }) {
                specials.append(token)
            }
        }
        for token in additional where !specials.contains(where: { $0.content == token.content }) {
            specials.append(token)
        }
        result.specialTokens = specials
        result.specialContents = Set(specials.map(\.content))

        if !newLayout {
            let addedURL = directory.appendingPathComponent("added_tokens.json")
            if let added = try TokenizerFiles.optionalJSONObject(addedURL) {
                var entries: [AddedToken] = []
                for member in added.members {
                    let (content, value) = (member.key, member.value)
                    guard case .integer(let id) = value, id >= 0 else {
                        throw TokenizerError.invalidField(
                            path: addedURL.path, field: content.debugDescription,
                            reason: "should be a non-negative integer id")
                    }
                    let special = result.specialContents.contains(content)
                    entries.append(AddedToken(content: content, id: id, special: special))
                }
                result.addedTokens = entries.sorted { $0.id < $1.id }
            }
        }
        return result
    }

    /// A token as transformers serializes one: a string, or an object with `content` and
    /// the AddedToken options. Null means "no such token".
    private static func specialToken(_ value: JSONValue, path: String, field: String, defaultSpecial: Bool = true)
        throws -> AddedToken?
    {
        switch value {
        case .null:
            return nil
        case .string(let content):
            return AddedToken(content: content, id: 0, special: defaultSpecial)
        case .object(let object):
            guard let content = try object.string("content", path: path, prefix: field + ".") else {
                throw TokenizerError.invalidField(path: path, field: field + ".content", reason: "is missing")
            }
            let special = try object.bool("special", default: defaultSpecial, path: path, prefix: field + ".")
            return AddedToken(
                content: content, id: 0, special: defaultSpecial || special,
                lstrip: try object.bool("lstrip", default: false, path: path, prefix: field + "."),
                rstrip: try object.bool("rstrip", default: false, path: path, prefix: field + "."),
                singleWord: try object.bool("single_word", default: false, path: path, prefix: field + "."),
                normalized: try object.bool(
                    "normalized", default: !(defaultSpecial || special), path: path, prefix: field + "."))
        default:
            throw TokenizerError.invalidField(
                path: path, field: field,
                reason: "should be a string or a token "
                    + "object, found \(value.kindName)")
        }
    }

    private static func specialTokenList(_ value: JSONValue?, path: String) throws -> [AddedToken] {
        guard let value else { return [] }
        switch value {
        case .null:
            return []
        case .array(let items):
            return try items.enumerated().compactMap { index, item in
                try specialToken(item, path: path, field: "additional_special_tokens[\(index)]")
            }
        default:
            throw TokenizerError.invalidField(
                path: path, field: "additional_special_tokens", reason: "should be an array, found \(value.kindName)")
        }
    }
}

extension AddedToken {
    func sameOptions(as other: AddedToken) -> Bool {
        content == other.content && special == other.special && lstrip == other.lstrip && rstrip == other.rstrip
            && singleWord == other.singleWord && normalized == other.normalized
    }
}
