import Foundation
import Tokenizer

/// `octavo-infer tokenize`: text to ids with a model folder's tokenizer.
enum TokenizeCommand: Command {
    static let name = "tokenize"
    static let summary = "Turn text into token ids with a model's tokenizer"
    static let help = """
    Usage: octavo-infer tokenize --model DIR [--text TEXT | --file FILE | stdin] [--json]

    Prints the ids Hugging Face's tokenizer gives for the text (no special tokens added),
    one line of space-separated ids; with --json, {"ids": [...], "tokens": [...]}.

    Example:
      octavo-infer tokenize --model models/gpt2 --text "Hello world" --json
    """
    static let spec = CommandLineArguments.Spec(options: ["model", "text", "file"], flags: ["json"])

    static func run(_ arguments: CommandLineArguments) throws {
        let directory = try modelDirectory(arguments)
        let text = try readInputText(arguments, textOption: "text", fileOption: "file")
        let tokenizer = try ByteLevelBPETokenizer.load(directory: directory)
        let ids = tokenizer.encode(text)
        if arguments.has("json") {
            struct Output: Encodable { let ids: [Int]; let tokens: [String] }
            try printJSON(Output(ids: ids, tokens: ids.map { tokenizer.token(forID: $0) ?? "" }))
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
    Usage: octavo-infer detokenize --model DIR [--skip-special-tokens] [--json] ID...

    Prints the text the ids stand for (the exact inverse of tokenize). Ids may also be
    given as one argument separated by spaces or commas.

    Example:
      octavo-infer detokenize --model models/gpt2 15496 995
    """
    static let spec = CommandLineArguments.Spec(options: ["model"], flags: ["skip-special-tokens", "json"], allowsPositionals: true)

    static func run(_ arguments: CommandLineArguments) throws {
        let directory = try modelDirectory(arguments)
        let tokenizer = try ByteLevelBPETokenizer.load(directory: directory)
        let ids = try parseIDs(arguments.positionals, vocabularySize: tokenizer.vocabularySize)
        let text = tokenizer.decode(ids, skipSpecialTokens: arguments.has("skip-special-tokens"))
        if arguments.has("json") {
            struct Output: Encodable { let text: String }
            try printJSON(Output(text: text))
        } else {
            print(text)
        }
    }

    static func parseIDs(_ words: [String], vocabularySize: Int) throws -> [Int] {
        let pieces = words.flatMap { $0.split(whereSeparator: { $0 == " " || $0 == "," || $0 == "\n" }) }
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
