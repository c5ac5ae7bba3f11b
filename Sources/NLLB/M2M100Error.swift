/// Why an M2M100 / NLLB folder could not be loaded, or an input not translated.
public enum M2M100Error: Error, CustomStringConvertible, Equatable {
    case configNotFound(path: String)
    case malformedConfig(path: String, reason: String)
    case unsupportedConfig(key: String, value: String, reason: String)
    /// A source token (or the target language) outside the embedding table.
    case tokenOutOfRange(id: Int, vocabularySize: Int)
    case emptySource(index: Int)
    case sourceTooLong(index: Int, tokens: Int, maxPositions: Int)
    /// A decoder step past the sinusoidal position table or its cache.
    case targetTooLong(position: Int, maxPositions: Int)
    case cacheFull(position: Int, capacity: Int)
    /// A cache handed to `decode` that this model did not make.
    case foreignCache(reason: String)
    /// `score` asked for rows the last decoder step did not compute.
    case rowsNotDecoded(rows: Range<Int>, decoded: Int)

    public var description: String {
        switch self {
        case .configNotFound(let path):
            return "\(path): not found. Point the model path at a Hugging Face M2M100/NLLB folder (config.json, "
                + "model.safetensors, generation_config.json)."
        case .malformedConfig(let path, let reason):
            return "\(path): \(reason). Fix config.json (compare with the model's original on the hub)."
        case .unsupportedConfig(let key, let value, let reason):
            return "config.json: \(key) = \(value) is not supported (\(reason))."
        case .tokenOutOfRange(let id, let size):
            return "token id \(id) is outside the model's vocabulary (0..<\(size)). The tokenizer does not match "
                + "the model."
        case .emptySource(let index):
            return "source \(index) has no tokens. Tokenize with the NLLB tokenizer, which adds the language code "
                + "and </s>."
        case .sourceTooLong(let index, let tokens, let limit):
            return "source \(index) is \(tokens) tokens but the encoder has \(limit) positions. Split the text "
                + "into shorter sentences."
        case .targetTooLong(let position, let limit):
            return "target position \(position) is past the decoder's \(limit) positions. Ask for fewer new tokens "
                + "(max_new_tokens / max_length)."
        case .cacheFull(let position, let capacity):
            return "target position \(position) does not fit a cache of \(capacity) positions. Make the cache with "
                + "makeTargetCache(capacity:) large enough."
        case .foreignCache(let reason):
            return "a decoder step was given a cache this model did not make (\(reason))."
        case .rowsNotDecoded(let rows, let decoded):
            return "rows \(rows.lowerBound)..<\(rows.upperBound) were asked for, but the last decoder step "
                + "computed \(decoded). Score right after decode."
        }
    }
}
