/// Errors of `NLLBTokenizer` and `FloresLanguages`: what is wrong and what to do.
public enum NLLBTokenizerError: Error, CustomStringConvertible, Equatable, Sendable {
    /// The folder has neither `sentencepiece.bpe.model` nor `tokenizer.json`.
    case missingTokenizerFiles(folder: String)
    /// A file exists but could not be read.
    case unreadableFile(path: String, reason: String)
    /// `tokenizer.json` / `tokenizer_config.json` is not valid JSON or lacks a required field.
    case invalidJSON(path: String, reason: String)
    /// `tokenizer.json` describes a tokenizer this reader cannot reproduce (not a
    /// SentencePiece-style BPE/Unigram with Metaspace).
    case unsupportedTokenizerJSON(path: String, reason: String)
    /// The files of one folder disagree (e.g. added token ids in tokenizer.json and tokenizer_config.json).
    case inconsistentFiles(reason: String)
    /// A language code the tokenizer does not have; `suggestions` are the closest valid codes.
    case unknownLanguageCode(String, suggestions: [String])
    /// The SentencePiece model could not be loaded.
    case sentencePiece(SentencePieceError, path: String)

    public var description: String {
        switch self {
        case .missingTokenizerFiles(let folder):
            return "No NLLB tokenizer in \(folder): expected `sentencepiece.bpe.model` or `tokenizer.json` (with "
                + "`tokenizer_config.json`). Point to the model folder that holds the tokenizer files."
        case .unreadableFile(let path, let reason):
            return "Cannot read \(path): \(reason). Check that the file exists and is readable."
        case .invalidJSON(let path, let reason):
            return "Invalid tokenizer file \(path): \(reason). The file is damaged or not a Hugging Face tokenizer "
                + "file; download it again."
        case .unsupportedTokenizerJSON(let path, let reason):
            return "Unsupported tokenizer.json \(path): \(reason). Only SentencePiece-style BPE or Unigram "
                + "tokenizers (Precompiled normalizer, Metaspace pre-tokenizer) are supported; use "
                + "`sentencepiece.bpe.model` instead if the folder has it."
        case .inconsistentFiles(let reason):
            return "Inconsistent NLLB tokenizer files: \(reason). Re-export the tokenizer folder with "
                + "transformers' save_pretrained."
        case .unknownLanguageCode(let code, let suggestions):
            let hint =
                suggestions.isEmpty
                ? "Use a FLORES-200 code such as eng_Latn, fra_Latn or zho_Hans (language_Script, case-sensitive)."
                : "Did you mean "
                    + suggestions.map { c in FloresLanguages.name(of: c).map { "\(c) (\($0))" } ?? c }.joined(
                        separator: ", ") + "?"
            return "Unknown language code \(code.debugDescription). \(hint)"
        case .sentencePiece(let error, let path):
            return "\(path): \(error.description)"
        }
    }
}
