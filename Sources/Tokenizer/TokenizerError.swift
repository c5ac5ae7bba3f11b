/// Why a tokenizer could not be loaded.
///
/// Every case names the file and says what to do, because the person reading it is
/// usually someone who pointed the engine at a model folder and needs to fix the folder,
/// not the code.
public enum TokenizerError: Error, Equatable, CustomStringConvertible {
    /// A file the tokenizer needs does not exist (or is not a readable regular file).
    case missingFile(path: String, hint: String)
    /// A folder holds neither `tokenizer.json` nor `vocab.json` + `merges.txt`.
    case noTokenizerFiles(directory: String)
    /// The file exists but could not be read.
    case unreadableFile(path: String, reason: String)
    /// The file is not valid JSON; `offset` is the byte where parsing stopped.
    case malformedJSON(path: String, offset: Int, reason: String)
    /// The JSON is valid but a field is missing or of the wrong kind.
    case invalidField(path: String, field: String, reason: String)
    /// The tokenizer uses a component this engine does not implement
    /// (e.g. a WordPiece model, a normalizer, a different pre-tokenizer).
    case unsupported(path: String, component: String, found: String)
    /// A line of merges.txt is not two tokens separated by one space.
    case malformedMergesLine(path: String, line: Int, content: String)
    /// A merge names a token (or produces one) that the vocabulary lacks.
    case mergeTokenNotInVocabulary(path: String, line: Int, token: String)
    /// The vocabulary itself is unusable (empty, negative ids, ...).
    case invalidVocabulary(path: String, reason: String)

    public var description: String {
        switch self {
        case .missingFile(let path, let hint):
            return "Tokenizer file not found: \(path). \(hint)"
        case .noTokenizerFiles(let directory):
            return "No tokenizer in \(directory): expected tokenizer.json, or vocab.json together with merges.txt. "
                + "Copy the tokenizer files of the Hugging Face model into this folder."
        case .unreadableFile(let path, let reason):
            return "Cannot read tokenizer file \(path): \(reason). Check the file's permissions and that it is not "
                + "a directory."
        case .malformedJSON(let path, let offset, let reason):
            return "Malformed JSON in \(path) at byte \(offset): \(reason). "
                + "The file is probably truncated or corrupted (a Git LFS pointer, an HTML error page?); download "
                + "it again."
        case .invalidField(let path, let field, let reason):
            return "Invalid tokenizer file \(path): field `\(field)` \(reason). "
                + "Make sure this is a Hugging Face tokenizer file of the expected kind."
        case .unsupported(let path, let component, let found):
            return "Unsupported tokenizer in \(path): \(component) is \(found). "
                + "Only byte-level BPE tokenizers (GPT-2 style: BPE model, ByteLevel pre-tokenizer and decoder, no "
                + "normalizer) are supported."
        case .malformedMergesLine(let path, let line, let content):
            return "Malformed merges file \(path), line \(line): \(content.debugDescription) is not two tokens "
                + "separated by a single space. "
                + "The file is probably corrupted; download it again."
        case .mergeTokenNotInVocabulary(let path, let line, let token):
            return "Merges and vocabulary do not match in \(path), merge \(line): token \(token.debugDescription) "
                + "is not in the vocabulary. "
                + "vocab.json and merges.txt must come from the same model."
        case .invalidVocabulary(let path, let reason):
            return "Invalid vocabulary in \(path): \(reason). Download the tokenizer files again."
        }
    }
}
