/// Why a GPT-2 folder could not be loaded or run.
public enum GPT2Error: Error, CustomStringConvertible, Equatable {
    case configNotFound(path: String)
    case malformedConfig(path: String, reason: String)
    case unsupportedConfig(key: String, value: String, reason: String)
    case tokenOutOfRange(id: Int, vocabularySize: Int)
    case cacheFull(position: Int, capacity: Int)
    case emptyStep

    public var description: String {
        switch self {
        case .configNotFound(let path):
            return "\(path): not found. Point --model at a Hugging Face GPT-2 folder (config.json, "
                + "model.safetensors, vocab.json + merges.txt or tokenizer.json)."
        case .malformedConfig(let path, let reason):
            return "\(path): \(reason)."
        case .unsupportedConfig(let key, let value, let reason):
            return "config.json: \(key) = \(value) is not supported (\(reason))."
        case .tokenOutOfRange(let id, let size):
            return "token id \(id) is outside the model's vocabulary (0..<\(size))."
        case .cacheFull(let position, let capacity):
            return "position \(position) does not fit a KV cache of \(capacity) positions."
        case .emptyStep:
            return "a forward step has no tokens."
        }
    }
}
