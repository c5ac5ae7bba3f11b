import Foundation

/// The architectures the commands understand, told apart by config.json's `model_type`.
enum ModelKind {
    case gpt2
    case m2m100

    static func of(_ directory: URL) throws -> ModelKind {
        switch try ServeModelLoader.modelType(of: directory) {
        case "gpt2": return .gpt2
        case "m2m_100": return .m2m100
        case let other:
            throw CLIError.runtime("\(directory.path): model_type '\(other)' is not supported (supported: gpt2, m2m_100 (NLLB-200)).")
        }
    }

    /// Whether the folder holds only tokenizer files (tokenize/detokenize need no weights).
    static func tokenizerOnly(_ directory: URL) -> Bool {
        !FileManager.default.fileExists(atPath: directory.appendingPathComponent("config.json").path)
    }
}
