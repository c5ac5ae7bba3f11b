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

    /// The draft the arguments ask for, loaded, or nil without --draft.
    static func parse(_ arguments: CommandLineArguments, target directory: URL) throws -> DraftOption? {
        try DraftRequest.parse(arguments).map { try $0.load(target: directory) }
    }

    func decoder(target: CausalLanguageModel, tokenizer: Tokenizer) throws -> SpeculativeDecoder {
        do {
            return try SpeculativeDecoder(target: target, draft: draft, tokenizer: tokenizer, draftTokens: draftTokens)
        } catch let error as SpeculativeError {
            throw CLIError.usage("\(error)")
        }
    }
}
