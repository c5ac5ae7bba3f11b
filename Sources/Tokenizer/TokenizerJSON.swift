import Foundation

/// What we take from a Hugging Face `tokenizer.json` with a byte-level BPE model.
struct TokenizerJSON {
    var vocabulary: [[UInt8]: Int]
    var merges: [([UInt8], [UInt8])]
    var unknownToken: [UInt8]?
    var fuseUnknown: Bool
    var ignoreMerges: Bool
    var addPrefixSpace: Bool
    var useRegex: Bool
    /// In file order, with the ids the file declares (HF re-derives them; see `AddedVocabulary`).
    var addedTokens: [AddedToken]

    /// Parses and checks the file. Components that would change the ids and that we do
    /// not implement (normalizers, other pre-tokenizers or models, dropout...) are
    /// rejected with `TokenizerError.unsupported` rather than silently ignored.
    /// `post_processor` is ignored on purpose: it only adds model-specific ids around
    /// the text (BOS/EOS), which `Tokenizer.encode` leaves to the caller.
    init(contentsOf url: URL) throws {
        let path = url.path
        let root = try TokenizerFiles.readJSON(url, hint: "Pass the tokenizer.json of a Hugging Face model folder.")
        guard case .object(let object) = root else {
            throw TokenizerError.invalidField(
                path: path, field: "(top level)", reason: "should be an object, found \(root.kindName)")
        }

        if let normalizer = object["normalizer"], !Self.isNull(normalizer) {
            throw TokenizerError.unsupported(path: path, component: "the normalizer", found: Self.typeName(normalizer))
        }

        guard let preTokenizer = try object.object("pre_tokenizer", path: path) else {
            throw TokenizerError.unsupported(path: path, component: "the pre-tokenizer", found: "missing")
        }
        guard try preTokenizer.string("type", path: path, prefix: "pre_tokenizer.") == "ByteLevel" else {
            throw TokenizerError.unsupported(
                path: path, component: "the pre-tokenizer", found: Self.typeName(.object(preTokenizer)))
        }
        (addPrefixSpace, useRegex) = try Self.byteLevelOptions(preTokenizer, path: path, prefix: "pre_tokenizer.")

        guard let decoder = try object.object("decoder", path: path) else {
            throw TokenizerError.unsupported(path: path, component: "the decoder", found: "missing")
        }
        guard try decoder.string("type", path: path, prefix: "decoder.") == "ByteLevel" else {
            throw TokenizerError.unsupported(
                path: path, component: "the decoder", found: Self.typeName(.object(decoder)))
        }
        _ = try Self.byteLevelOptions(decoder, path: path, prefix: "decoder.")
        try Self.checkPostProcessor(object["post_processor"], path: path)
        try Self.checkTopLevel(object, path: path)

        guard let model = try object.object("model", path: path) else {
            throw TokenizerError.invalidField(path: path, field: "model", reason: "is missing")
        }
        // HF accepts a BPE model without "type" (its deserializer recognises it by fields).
        let type = try model.string("type", path: path, prefix: "model.")
        guard type == nil || type == "BPE" else {
            throw TokenizerError.unsupported(path: path, component: "the model", found: type!)
        }
        guard let vocabularyValue = model["vocab"] else {
            throw TokenizerError.invalidField(path: path, field: "model.vocab", reason: "is missing")
        }
        vocabulary = try TokenizerFiles.vocabulary(from: vocabularyValue, path: path, field: "model.vocab")
        merges = try Self.merges(model["merges"], path: path)

        switch model["dropout"] {
        case nil, .null?: break
        case .double(let value)? where value == 0: break
        case .integer(let value)? where value == 0: break
        case let other?: throw TokenizerError.unsupported(path: path, component: "BPE dropout", found: "\(other)")
        }
        for field in ["continuing_subword_prefix", "end_of_word_suffix"] {
            if let value = try model.string(field, path: path, prefix: "model."), !value.isEmpty {
                throw TokenizerError.unsupported(path: path, component: "model.\(field)", found: value.debugDescription)
            }
        }
        if try model.bool("byte_fallback", default: false, path: path, prefix: "model.") {
            throw TokenizerError.unsupported(path: path, component: "model.byte_fallback", found: "true")
        }
        unknownToken = try model.string("unk_token", path: path, prefix: "model.").map { Array($0.utf8) }
        fuseUnknown = try model.bool("fuse_unk", default: false, path: path, prefix: "model.")
        ignoreMerges = try model.bool("ignore_merges", default: false, path: path, prefix: "model.")

        addedTokens = []
        switch object["added_tokens"] {
        case nil: break
        case .array(let entries)?:
            for (index, entry) in entries.enumerated() {
                let field = "added_tokens[\(index)]"
                guard case .object(let token) = entry else {
                    throw TokenizerError.invalidField(
                        path: path, field: field,
                        reason: "should be an object, "
                            + "found \(entry.kindName)")
                }
                guard case .integer(let id)? = token["id"], id >= 0 else {
                    throw TokenizerError.invalidField(
                        path: path, field: field + ".id", reason: "should be a non-negative integer")
                }
                guard let content = try token.string("content", path: path, prefix: field + ".") else {
                    throw TokenizerError.invalidField(path: path, field: field + ".content", reason: "is missing")
                }
                let special = try token.bool("special", default: false, path: path, prefix: field + ".")
                addedTokens.append(
                    AddedToken(
                        content: content, id: id, special: special,
                        lstrip: try token.bool("lstrip", default: false, path: path, prefix: field + "."),
                        rstrip: try token.bool("rstrip", default: false, path: path, prefix: field + "."),
                        singleWord: try token.bool("single_word", default: false, path: path, prefix: field + "."),
                        normalized: try token.bool("normalized", default: !special, path: path, prefix: field + ".")))
            }
        case let other?:
            throw TokenizerError.invalidField(
                path: path, field: "added_tokens", reason: "should be an array, found \(other.kindName)")
        }
    }

    /// `model.merges` in either form HF writes: "a b" strings (tokenizers < 0.20, and the
    /// hub's gpt2) or ["a", "b"] pairs (tokenizers >= 0.20, which allows spaces in tokens).
    private static func merges(_ value: JSONValue?, path: String) throws -> [([UInt8], [UInt8])] {
        guard let value, !isNull(value) else { return [] }
        guard case .array(let entries) = value else {
            throw TokenizerError.invalidField(
                path: path, field: "model.merges", reason: "should be an array, found \(value.kindName)")
        }
        var merges: [([UInt8], [UInt8])] = []
        merges.reserveCapacity(entries.count)
        for (index, entry) in entries.enumerated() {
            switch entry {
            case .string(let text):
                let parts = Array(text.utf8).split(
                    separator: UInt8(ascii: " "), maxSplits: 1, omittingEmptySubsequences: false)
                guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else {
                    throw TokenizerError.malformedMergesLine(path: path, line: index + 1, content: text)
                }
                merges.append((Array(parts[0]), Array(parts[1])))
            case .array(let pair):
                guard pair.count == 2, case .string(let left) = pair[0], case .string(let right) = pair[1] else {
                    throw TokenizerError.invalidField(
                        path: path, field: "model.merges[\(index)]", reason: "should be a pair of strings")
                }
                merges.append((Array(left.utf8), Array(right.utf8)))
            default:
                throw TokenizerError.invalidField(
                    path: path, field: "model.merges[\(index)]",
                    reason: "should be a string or a pair of strings, found \(entry.kindName)")
            }
        }
        return merges
    }

    /// A ByteLevel component's options as tokenizers deserializes them: `add_prefix_space` and
    /// `trim_offsets` are required booleans, `use_regex` an optional one (default true).
    private static func byteLevelOptions(_ component: JSONObject, path: String, prefix: String) throws -> (
        addPrefixSpace: Bool, useRegex: Bool
    ) {
        func flag(_ key: String, required: Bool) throws -> Bool? {
            switch component[key] {
            case nil where !required: return nil
            case .bool(let value)?: return value
            case nil: throw TokenizerError.invalidField(path: path, field: prefix + key, reason: "is missing")
            case let other?:
                throw TokenizerError.invalidField(
                    path: path, field: prefix + key,
                    reason: "should be "
                        + "true or false, found \(other.kindName)")
            }
        }
        let addPrefixSpace = try flag("add_prefix_space", required: true)!
        _ = try flag("trim_offsets", required: true)
        return (addPrefixSpace, try flag("use_regex", required: false) ?? true)
    }

    /// `post_processor` does not change `encode`'s ids here, but a damaged one makes the file
    /// unloadable for tokenizers, so it is checked: null, a ByteLevel with its options, or
    /// one of the processors tokenizers knows (not otherwise read).
    private static func checkPostProcessor(_ value: JSONValue?, path: String) throws {
        guard let value, !isNull(value) else { return }
        guard case .object(let processor) = value, case .string(let type)? = processor["type"] else {
            throw TokenizerError.invalidField(
                path: path, field: "post_processor", reason: "should be an object with a type, found \(value.kindName)")
        }
        switch type {
        case "ByteLevel": _ = try byteLevelOptions(processor, path: path, prefix: "post_processor.")
        case "TemplateProcessing", "RobertaProcessing", "BertProcessing", "Sequence": break
        default:
            throw TokenizerError.invalidField(
                path: path, field: "post_processor.type", reason: "\(type.debugDescription) is not a post-processor")
        }
    }

    /// `version` is "1.0" when present; truncation and padding change the ids of `encode`,
    /// and are deliberately not supported (a valid setting is refused, not ignored).
    private static func checkTopLevel(_ object: JSONObject, path: String) throws {
        switch object["version"] {
        case nil, .string("1.0")?: break
        case let other?:
            throw TokenizerError.invalidField(path: path, field: "version", reason: "should be \"1.0\", found \(other)")
        }
        for key in ["truncation", "padding"] {
            if let value = object[key], !isNull(value) {
                throw TokenizerError.unsupported(
                    path: path, component: key,
                    found: "\(value.kindName) "
                        + "(deliberately not supported)")
            }
        }
    }

    private static func isNull(_ value: JSONValue) -> Bool {
        if case .null = value { return true }
        return false
    }

    private static func typeName(_ value: JSONValue) -> String {
        if case .object(let object) = value, case .string(let type)? = object["type"] {
            if type == "Sequence" { return "a Sequence (only a lone ByteLevel is supported)" }
            return type
        }
        return value.kindName
    }
}
