import Foundation
import ModelFactory
import Tokenizer

/// A folder's tokenizer: GPT-2's byte-level BPE, or NLLB's SentencePiece with language codes.
enum FolderTokenizer {
    case byteLevel(ByteLevelBPETokenizer)
    case nllb(NLLBTokenizer)

    /// The architecture's tokenizer (config.json's model_type), or for a tokenizer-only folder
    /// the one its files name.
    static func load(_ directory: URL) throws -> FolderTokenizer {
        if ModelFolder.tokenizerOnly(directory) {
            let configURL = directory.appendingPathComponent("tokenizer_config.json")
            let config = (try? String(contentsOf: configURL, encoding: .utf8)) ?? ""
            let sentencePiece = directory.appendingPathComponent("sentencepiece.bpe.model").path
            let isNLLB = FileManager.default.fileExists(atPath: sentencePiece) || config.contains("NllbTokenizer")
            return isNLLB
                ? .nllb(try NLLBTokenizer(folder: directory))
                : .byteLevel(try ByteLevelBPETokenizer.load(directory: directory))
        }
        switch try ModelFolder.architecture(of: directory).loadTokenizer(directory: directory) {
        case let tokenizer as NLLBTokenizer: return .nllb(tokenizer)
        case let tokenizer as ByteLevelBPETokenizer: return .byteLevel(tokenizer)
        case let other:
            throw CLIError.runtime("\(directory.path): tokenize does not know the tokenizer \(type(of: other)) yet")
        }
    }

    var tokenizer: Tokenizer {
        switch self {
        case .byteLevel(let t): return t
        case .nllb(let t): return t
        }
    }

    func token(forID id: Int) -> String {
        switch self {
        case .byteLevel(let t): return t.token(forID: id) ?? ""
        case .nllb(let t): return t.token(forID: id) ?? ""
        }
    }
}

/// `octavo-infer tokenize`: text to ids with a model folder's tokenizer.
enum TokenizeCommand: Command {
    static let name = "tokenize"
    static let summary = "Turn text into token ids with a model's tokenizer"
    static let help = """
        Usage: octavo-infer tokenize --model DIR [--text TEXT | --file FILE | stdin] [--source CODE] [--json]

        Prints the ids Hugging Face's tokenizer gives for the text, one line of space-separated
        ids; with --json, {"ids": [...], "tokens": [...]}. GPT-2 adds no special tokens. NLLB
        gives what NLLBTokenizer gives with src_lang set: [source language] pieces </s>
        (--source, default eng_Latn).

        Example:
          octavo-infer tokenize --model models/gpt2 --text "Hello world" --json
          octavo-infer tokenize --model models/nllb-600m --source fra_Latn --text "Bonjour" --json
        """
    static let spec = CommandLineArguments.Spec(options: ["model", "text", "file", "source"], flags: ["json"])

    static func run(_ arguments: CommandLineArguments) throws {
        let directory = try modelDirectory(arguments, loadsWeights: false)
        let text = try readInputText(arguments, textOption: "text", fileOption: "file")
        let folder = try FolderTokenizer.load(directory)
        let ids: [Int]
        switch folder {
        case .byteLevel(let tokenizer):
            guard arguments.string("source") == nil else {
                throw CLIError.usage("--source applies to NLLB tokenizers only")
            }
            ids = tokenizer.encode(text)
        case .nllb(let tokenizer):
            do {
                ids = try tokenizer.encodeSource(text, language: arguments.string("source") ?? "eng_Latn")
            } catch let error as NLLBTokenizerError {
                throw CLIError.usage(error.description)
            }
        }
        if arguments.has("json") {
            struct Output: Encodable {
                let ids: [Int]
                let tokens: [String]
            }
            try printJSON(Output(ids: ids, tokens: ids.map { folder.token(forID: $0) }))
        } else {
            print(ids.map(String.init).joined(separator: " "))
        }
    }
}

/// `octavo-infer detokenize`: ids back to text.
enum DetokenizeCommand: Command {
    static let name = "detokenize"
    static let summary = "Turn token ids back into text"
    static let help = """
        Usage: octavo-infer detokenize --model DIR [--skip-special-tokens] [--json] [ID... | stdin]

        Prints the text the ids stand for (the exact inverse of tokenize). Ids may also be
        given as one argument separated by spaces or commas, or on standard input
        (`tokenize ... | detokenize ...`).

        Example:
          octavo-infer detokenize --model models/gpt2 15496 995
        """
    static let spec = CommandLineArguments.Spec(
        options: ["model"], flags: ["skip-special-tokens", "json"], allowsPositionals: true)

    static func run(_ arguments: CommandLineArguments) throws {
        let directory = try modelDirectory(arguments, loadsWeights: false)
        let tokenizer = try FolderTokenizer.load(directory).tokenizer
        // No ids as arguments: read them from a pipe, as tokenize and generate read text.
        let words =
            arguments.positionals.isEmpty && isatty(STDIN_FILENO) == 0
            ? [try readStandardInput()] : arguments.positionals
        let ids = try parseIDs(words, vocabularySize: tokenizer.vocabularySize)
        let text = tokenizer.decode(ids, skipSpecialTokens: arguments.has("skip-special-tokens"))
        if arguments.has("json") {
            struct Output: Encodable { let text: String }
            try printJSON(Output(text: text))
        } else {
            print(text)
        }
    }

    static func parseIDs(_ words: [String], vocabularySize: Int) throws -> [Int] {
        let pieces = words.flatMap { $0.split(whereSeparator: { " ,\n\t\r".contains($0) }) }
        guard !pieces.isEmpty else { throw CLIError.usage("give the ids to decode") }
        return try pieces.map { piece in
            guard let id = Int(piece) else { throw CLIError.usage("'\(piece)' is not a token id") }
            guard id >= 0 && id < vocabularySize else {
                throw CLIError.runtime("token id \(id) is outside the vocabulary (0..<\(vocabularySize))")
            }
            return id
        }
    }
}
