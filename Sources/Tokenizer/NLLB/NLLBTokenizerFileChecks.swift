import Foundation

/// The parts of an NLLB `tokenizer.json` that do not change our ids but that the tokenizers
/// library deserializes strictly: a file it refuses (a damaged decoder, post-processor,
/// version or added-token flag) is refused here too, with the field named.
enum NLLBTokenizerFileChecks {
    static func check(_ json: [String: Any], path: String) throws {
        func invalid(_ reason: String) -> NLLBTokenizerError { .invalidJSON(path: path, reason: reason) }
        if let version = json["version"], (version as? String) != "1.0" {
            throw invalid("version is \(version), not \"1.0\"")
        }
        for key in ["truncation", "padding"] where !isNull(json[key]) {
            throw NLLBTokenizerError.unsupportedTokenizerJSON(
                path: path,
                reason: "\(key) is set, which is "
                    + "deliberately not supported")
        }
        if let tokens = json["added_tokens"] {
            guard let list = tokens as? [Any] else { throw invalid("added_tokens is not an array") }
            for (index, entry) in list.enumerated() {
                guard let token = entry as? [String: Any] else {
                    throw invalid("added_tokens[\(index)] is not an object")
                }
                for flag in ["special", "lstrip", "rstrip", "single_word", "normalized"]
                where token[flag] != nil && !isBool(token[flag]) {
                    throw invalid("added_tokens[\(index)].\(flag) is not true or false")
                }
            }
        }
        if let pre = json["pre_tokenizer"] as? [String: Any] {
            let parts = pre["type"] as? String == "Sequence" ? (pre["pretokenizers"] as? [[String: Any]] ?? []) : [pre]
            for part in parts where part["type"] as? String == "Metaspace" {
                try checkMetaspace(part, field: "pre_tokenizer", path: path)
            }
        }
        if !isNull(json["decoder"]) {
            guard let decoder = json["decoder"] as? [String: Any], let type = decoder["type"] as? String,
                decoderTypes.contains(type)
            else { throw invalid("decoder is not a known decoder") }
            if type == "Metaspace" { try checkMetaspace(decoder, field: "decoder", path: path) }
        }
        if !isNull(json["post_processor"]) {
            guard let processor = json["post_processor"] as? [String: Any], let type = processor["type"] as? String,
                postProcessorTypes.contains(type)
            else { throw invalid("post_processor is not a known post-processor") }
            if type == "TemplateProcessing" { try checkTemplate(processor, path: path) }
        }
    }

    private static let decoderTypes: Set = [
        "Metaspace", "ByteLevel", "WordPiece", "BPEDecoder", "CTC", "Sequence", "Replace",
        "Fuse", "Strip", "ByteFallback",
    ]
    private static let postProcessorTypes: Set = [
        "TemplateProcessing", "RobertaProcessing", "BertProcessing", "ByteLevel", "Sequence",
    ]

    /// Metaspace: `replacement` one character (required); `prepend_scheme` always/first/never,
    /// `split` and the older `add_prefix_space` booleans when present.
    private static func checkMetaspace(_ metaspace: [String: Any], field: String, path: String) throws {
        func invalid(_ reason: String) -> NLLBTokenizerError { .invalidJSON(path: path, reason: "\(field): \(reason)") }
        guard let replacement = metaspace["replacement"] as? String, replacement.unicodeScalars.count == 1 else {
            throw invalid("replacement is not one character")
        }
        if let scheme = metaspace["prepend_scheme"], !["always", "first", "never"].contains(scheme as? String ?? "") {
            throw invalid("prepend_scheme is not always, first or never")
        }
        for flag in ["split", "add_prefix_space"] where metaspace[flag] != nil && !isBool(metaspace[flag]) {
            throw invalid("\(flag) is not true or false")
        }
    }

    /// TemplateProcessing: `single` and `pair` are lists of {"SpecialToken"|"Sequence": {id, type_id}};
    /// `special_tokens` maps names to {id, ids, tokens}.
    private static func checkTemplate(_ processor: [String: Any], path: String) throws {
        func invalid(_ reason: String) -> NLLBTokenizerError {
            .invalidJSON(path: path, reason: "post_processor: \(reason)")
        }
        for key in ["single", "pair"] {
            guard let pieces = processor[key] as? [Any] else { throw invalid("\(key) is not a list") }
            for piece in pieces {
                guard let piece = piece as? [String: Any], piece.count == 1, let (kind, body) = piece.first,
                    let fields = body as? [String: Any], let id = fields["id"] as? String,
                    isUnsigned(fields["type_id"]),
                    kind == "SpecialToken" || (kind == "Sequence" && (id == "A" || id == "B"))
                else { throw invalid("an entry of \(key) is not {SpecialToken|Sequence: {id, type_id}}") }
            }
        }
        guard let special = processor["special_tokens"] as? [String: Any] else {
            throw invalid("special_tokens is not an object")
        }
        for (name, value) in special {
            guard let token = value as? [String: Any], token["id"] is String,
                let ids = token["ids"] as? [Any], ids.allSatisfy(isUnsigned), let tokens = token["tokens"] as? [Any],
                tokens.allSatisfy({ $0 is String })
            else { throw invalid("special_tokens[\(name.debugDescription)] is not {id, ids, tokens}") }
        }
    }

    private static func isNull(_ value: Any?) -> Bool { value == nil || value is NSNull }

    /// JSONSerialization gives true/false as NSNumbers whose objCType is "c".
    private static func isBool(_ value: Any?) -> Bool {
        guard let number = value as? NSNumber else { return false }
        return String(cString: number.objCType) == "c"
    }

    private static func isUnsigned(_ value: Any?) -> Bool {
        guard let number = value as? NSNumber, !isBool(number) else { return false }
        let double = number.doubleValue
        return double >= 0 && double == double.rounded() && double < 4_294_967_296
    }
}
