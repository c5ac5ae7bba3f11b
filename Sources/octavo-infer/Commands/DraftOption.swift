import Foundation
import Generation
import ModelFactory
import Tensor
import Tokenizer

/// `--draft int8|f16|ngram|ngram+D|MODEL [--draft-tokens k] [--draft-dtype D]`: the draft of
/// exact speculative decoding for a causal language model target (`generate`, `bench` and
/// `serve`, which all parse it here).
struct DraftOption {
    /// What the user named: "int8", "f16", "ngram" or a model folder or name.
    let label: String
    /// Tokens proposed per round at first (the decoder adapts it).
    let draftTokens: Int
    /// A new draft over the loaded draft model (each served sequence needs its own cache).
    let makeDraft: () -> SpeculativeDraft

    /// The draft of a single generation (`generate`, `bench`).
    var draft: SpeculativeDraft { makeDraft() }

    static let help = """
          --draft D                    exact speculative decoding (the output is the target's own):
                                       int8 or f16 (the same folder loaded again at that precision),
                                       ngram (guesses from the prompt and text so far, no model) or
                                       a model folder or name sharing the tokenizer;
                                       ngram+D (ngram+int8...): n-grams where they find a guess, D elsewhere
          --draft-tokens K             tokens the draft proposes per round at first (default 4; then
                                       one more after a round fully kept, one fewer after a poor one)
          --draft-dtype D              precision of a --draft model folder (default f32)
        """
    static let options: Set<String> = ["draft", "draft-tokens", "draft-dtype"]

    /// The draft the arguments ask for, or nil without --draft.
    static func parse(_ arguments: CommandLineArguments, target directory: URL) throws -> DraftOption? {
        guard let value = arguments.string("draft") else {
            for option in ["draft-tokens", "draft-dtype"] where arguments.string(option) != nil {
                throw CLIError.usage("--\(option) needs --draft")
            }
            return nil
        }
        let tokens = try arguments.int("draft-tokens") ?? 4
        guard (1...SpeculativeDecoder.defaultMaxDraftTokens).contains(tokens) else {
            throw CLIError.usage("--draft-tokens must be between 1 and \(SpeculativeDecoder.defaultMaxDraftTokens)")
        }
        // "ngram+D": n-gram guesses where the text repeats itself, draft D elsewhere.
        if value.hasPrefix("ngram+") {
            let model = try draftModel(String(value.dropFirst("ngram+".count)), arguments, target: directory)
            return DraftOption(label: value, draftTokens: tokens) {
                FallbackDraft(first: NGramDraft(), second: ModelDraft(model: model))
            }
        }
        if value == "ngram" {
            guard arguments.string("draft-dtype") == nil else {
                throw CLIError.usage("--draft-dtype applies to a draft model folder")
            }
            return DraftOption(label: value, draftTokens: tokens) { NGramDraft() }
        }
        let model = try draftModel(value, arguments, target: directory)
        return DraftOption(label: value, draftTokens: tokens) { ModelDraft(model: model) }
    }

    /// Any causal architecture the model factory knows can draft.
    private static func loadModel(_ folder: URL, precision: WeightPrecision) throws -> CausalLanguageModel {
        try ModelFolder.loadCausal(folder, options: ModelLoadOptions(precision: precision)).languageModel
    }

    /// int8 or f16 (the target folder again) or a model folder or name.
    private static func draftModel(_ value: String, _ arguments: CommandLineArguments, target directory: URL) throws
        -> CausalLanguageModel
    {
        let draft: CausalLanguageModel
        switch value {
        case "int8", "f16":
            guard arguments.string("draft-dtype") == nil else {
                throw CLIError.usage("--draft \(value) already names the precision")
            }
            draft = try loadModel(directory, precision: WeightPrecision(rawValue: value)!)
        default:
            let folder = try ModelResolver(arguments).resolve(value)
            var precision = WeightPrecision.f32
            if let text = arguments.string("draft-dtype") {
                guard let parsed = WeightPrecision(rawValue: text) else {
                    throw CLIError.usage("--draft-dtype expects f32, f16 or int8, got '\(text)'")
                }
                precision = parsed
            }
            draft = try loadModel(folder, precision: precision)
        }
        return draft
    }

    func decoder(target: CausalLanguageModel, tokenizer: Tokenizer) throws -> SpeculativeDecoder {
        do {
            return try SpeculativeDecoder(target: target, draft: draft, tokenizer: tokenizer, draftTokens: draftTokens)
        } catch let error as SpeculativeError {
            throw CLIError.usage("\(error)")
        }
    }
}
