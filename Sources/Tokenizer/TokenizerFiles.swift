import Foundation

/// Reading the files of a Hugging Face byte-level BPE tokenizer: vocab.json, merges.txt,
/// tokenizer_config.json, special_tokens_map.json, added_tokens.json. Every failure
/// becomes a `TokenizerError` naming the file.
enum TokenizerFiles {
    static func read(_ url: URL, hint: String) throws -> [UInt8] {
        let path = url.path
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw TokenizerError.missingFile(path: path, hint: hint)
        }
        guard !isDirectory.boolValue else {
            throw TokenizerError.unreadableFile(path: path, reason: "it is a directory")
        }
        do {
            return [UInt8](try Data(contentsOf: url))
        } catch {
            throw TokenizerError.unreadableFile(path: path, reason: error.localizedDescription)
        }
    }

    static func parseJSON(_ bytes: [UInt8], path: String) throws -> JSONValue {
        do {
            return try JSONParser.parse(bytes)
        } catch let error as JSONParseError {
            throw TokenizerError.malformedJSON(path: path, offset: error.offset, reason: error.reason)
        }
    }

    static func readJSON(_ url: URL, hint: String) throws -> JSONValue {
        try parseJSON(try read(url, hint: hint), path: url.path)
    }

    /// A vocabulary object `{"token": id, ...}` (vocab.json, or `model.vocab` of tokenizer.json).
    static func vocabulary(from value: JSONValue, path: String, field: String) throws -> [[UInt8]: Int] {
        guard case .object(let object) = value else {
            throw TokenizerError.invalidField(
                path: path, field: field,
                reason: "should be an object mapping "
                    + "tokens to ids, found \(value.kindName)")
        }
        var vocabulary: [[UInt8]: Int] = [:]
        vocabulary.reserveCapacity(object.members.count)
        for member in object.members {
            let (token, id) = (member.key, member.value)
            if case .bool = id {
                // Python reads true as the id 1 (transformers' slow tokenizer takes it); we refuse it on purpose.
                throw TokenizerError.unsupported(
                    path: path, component: "token \(token.debugDescription)'s id",
                    found: "a boolean (deliberately not read as 0 or 1)")
            }
            guard case .integer(let number) = id else {
                throw TokenizerError.invalidField(
                    path: path, field: "\(field)[\(token.debugDescription)]",
                    reason: "should be an integer id, found \(id.kindName)")
            }
            if number >= Int(Int32.max) && number <= Int(UInt32.max) {
                // HF ids are u32; ids past 2^31 would size our tables to gigabytes, so they are refused on purpose.
                throw TokenizerError.unsupported(
                    path: path, component: "token \(token.debugDescription)'s id",
                    found: "\(number) (ids of 2^31 - 1 and more are deliberately not supported)")
            }
            guard number >= 0 && number < Int(Int32.max) else {
                throw TokenizerError.invalidVocabulary(
                    path: path,
                    reason: "token \(token.debugDescription) has id "
                        + "\(number), outside 0..<\(Int32.max)")
            }
            vocabulary[Array(token.utf8)] = number
        }
        guard !vocabulary.isEmpty else {
            throw TokenizerError.invalidVocabulary(path: path, reason: "the vocabulary is empty")
        }
        return vocabulary
    }

    /// merges.txt as HF tokenizers reads it: lines starting with `#version` are skipped,
    /// every other line is exactly two tokens separated by one space; the rank is the
    /// position among merge lines. Returns the merges and, per rank, its 1-based line.
    static func merges(fromText bytes: [UInt8], path: String) throws -> (merges: [([UInt8], [UInt8])], lines: [Int]) {
        var merges: [([UInt8], [UInt8])] = []
        var lineNumbers: [Int] = []
        merges.reserveCapacity(bytes.count / 9)
        var lines = bytes.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false)
        // A final newline ends the last line; it does not start an empty one.
        if let last = lines.last, last.isEmpty { lines.removeLast() }
        let versionPrefix = Array("#version".utf8)
        for (index, rawLine) in lines.enumerated() {
            var line = rawLine
            if line.last == UInt8(ascii: "\r") { line = line.dropLast() }
            if line.starts(with: versionPrefix) { continue }
            let parts = line.split(separator: UInt8(ascii: " "), omittingEmptySubsequences: false)
            guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else {
                throw TokenizerError.malformedMergesLine(
                    path: path, line: index + 1, content: String(decoding: line, as: UTF8.self))
            }
            guard String(validating: line, as: UTF8.self) != nil else {
                throw TokenizerError.malformedMergesLine(
                    path: path, line: index + 1, content: String(decoding: line, as: UTF8.self))
            }
            merges.append((Array(parts[0]), Array(parts[1])))
            lineNumbers.append(index + 1)
        }
        return (merges, lineNumbers)
    }

    /// merges.txt as transformers' slow `GPT2Tokenizer` reads it (what `AutoTokenizer` converts
    /// from when a folder has no tokenizer.json): the whole file must be UTF-8; split on "\n",
    /// the first line (the `#version` header) and the last piece (empty after a final newline)
    /// are dropped, whatever they hold; each other line splits on whitespace into exactly two
    /// tokens; a repeated merge keeps the rank of its first occurrence.
    static func slowTokenizerMerges(fromText bytes: [UInt8], path: String) throws -> (
        merges: [([UInt8], [UInt8])], lines: [Int]
    ) {
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw TokenizerError.unreadableFile(path: path, reason: "it is not valid UTF-8")
        }
        let lines = text.unicodeScalars.split(separator: "\n", omittingEmptySubsequences: false)
        var merges: [([UInt8], [UInt8])] = []
        var lineNumbers: [Int] = []
        var seen = Set<[UInt8]>()
        for index in lines.indices.dropFirst().dropLast() {
            // Python's str.split(): any Unicode whitespace, plus the separators U+001C...U+001F.
            let parts = lines[index].split { $0.properties.isWhitespace || (0x1C...0x1F).contains($0.value) }
            guard parts.count == 2 else {
                throw TokenizerError.malformedMergesLine(
                    path: path, line: index + 1, content: String(String.UnicodeScalarView(lines[index])))
            }
            let (left, right) = (
                Array(String(String.UnicodeScalarView(parts[0])).utf8),
                Array(String(String.UnicodeScalarView(parts[1])).utf8)
            )
            guard seen.insert(left + [0x20] + right).inserted else { continue }
            merges.append((left, right))
            lineNumbers.append(index + 1)
        }
        return (merges, lineNumbers)
    }

    /// Optional JSON file: nil when absent, an error when present but broken.
    static func optionalJSONObject(_ url: URL) throws -> JSONObject? {
        guard FileManager.default.fileExists(atPath: url.path) else { return nil }
        let value = try readJSON(url, hint: "")
        guard case .object(let object) = value else {
            throw TokenizerError.invalidField(
                path: url.path, field: "(top level)", reason: "should be an object, found \(value.kindName)")
        }
        return object
    }
}

extension JSONObject {
    /// A boolean member, `fallback` when absent or null.
    func bool(_ key: String, default fallback: Bool, path: String, prefix: String = "") throws -> Bool {
        switch self[key] {
        case nil, .null?: return fallback
        case .bool(let value)?: return value
        case let other?:
            throw TokenizerError.invalidField(
                path: path, field: prefix + key,
                reason: "should be "
                    + "true or false, found \(other.kindName)")
        }
    }

    /// A member read with Python's truthiness, as transformers reads tokenizer_config.json
    /// flags: `fallback` when absent; null, false, 0, "", [] and {} are false.
    func truthy(_ key: String, default fallback: Bool) -> Bool {
        switch self[key] {
        case nil: return fallback
        case .null?: return false
        case .bool(let value)?: return value
        case .integer(let value)?: return value != 0
        case .double(let value)?: return value != 0
        case .string(let value)?: return !value.isEmpty
        case .array(let value)?: return !value.isEmpty
        case .object(let value)?: return !value.members.isEmpty
        }
    }

    /// A string member, nil when absent or null.
    func string(_ key: String, path: String, prefix: String = "") throws -> String? {
        switch self[key] {
        case nil, .null?: return nil
        case .string(let value)?: return value
        case let other?:
            throw TokenizerError.invalidField(
                path: path, field: prefix + key,
                reason: "should be a "
                    + "string, found \(other.kindName)")
        }
    }

    func object(_ key: String, path: String, prefix: String = "") throws -> JSONObject? {
        switch self[key] {
        case nil, .null?: return nil
        case .object(let value)?: return value
        case let other?:
            throw TokenizerError.invalidField(
                path: path, field: prefix + key,
                reason: "should be an "
                    + "object, found \(other.kindName)")
        }
    }
}
