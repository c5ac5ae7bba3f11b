import Foundation
import Generation
import ModelFactory
import Tensor

/// What `--draft` names, checked without loading a model: the option values, the draft folder
/// and its architecture. `serve` checks it before it binds its port, so a wrong `--draft` is a
/// usage error (exit 2) rather than a failure after the server has started listening.
struct DraftRequest: Equatable {
    /// Where a draft model comes from.
    enum ModelSource: Equatable {
        /// The target's own folder, loaded again at this precision (`int8`, `f16`).
        case target(WeightPrecision)
        /// Another causal model folder sharing the tokenizer, at `--draft-dtype`.
        case folder(URL, WeightPrecision)
    }

    enum Source: Equatable {
        case ngram
        case model(ModelSource)
        /// `ngram+D`: n-gram guesses where the text repeats itself, the model D elsewhere.
        case ngramThen(ModelSource)
    }

    /// What the user named: "int8", "f16", "ngram", "ngram+int8" or a model folder or name.
    let label: String
    /// Tokens proposed per round at first.
    let draftTokens: Int
    let source: Source

    /// The checked request, or nil without --draft. `translation`: for a translation model,
    /// whose drafts are its own folder at int8 or f16 and n-grams (no other folder).
    static func parse(_ arguments: CommandLineArguments, translation: Bool = false) throws -> DraftRequest? {
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
        let source: Source
        if value == "ngram" {
            guard arguments.string("draft-dtype") == nil else {
                throw CLIError.usage("--draft-dtype applies to a draft model folder")
            }
            source = .ngram
        } else if value.hasPrefix("ngram+") {
            source = .ngramThen(try modelSource(String(value.dropFirst("ngram+".count)), arguments, translation))
        } else {
            source = .model(try modelSource(value, arguments, translation))
        }
        return DraftRequest(label: value, draftTokens: tokens, source: source)
    }

    /// int8 or f16 (the target folder again) or a causal model folder or name.
    private static func modelSource(_ value: String, _ arguments: CommandLineArguments, _ translation: Bool) throws
        -> ModelSource
    {
        switch value {
        case "int8", "f16":
            guard arguments.string("draft-dtype") == nil else {
                throw CLIError.usage("--draft \(value) already names the precision")
            }
            return .target(WeightPrecision(rawValue: value)!)
        default:
            guard !translation else {
                throw CLIError.usage(
                    "--draft expects int8, f16, ngram, ngram+int8 or ngram+f16 for translation, got '\(value)'")
            }
            var precision = WeightPrecision.f32
            if let text = arguments.string("draft-dtype") {
                guard let parsed = WeightPrecision(rawValue: text) else {
                    throw CLIError.usage("--draft-dtype expects f32, f16, int8 or q4, got '\(text)'")
                }
                precision = parsed
            }
            let folder: URL
            do {
                folder = try ModelResolver(arguments).resolve(value)
            } catch CLIError.usage(let message) {
                throw CLIError.usage("--draft \(value): \(message)")
            } catch CLIError.runtime(let message) {
                throw CLIError.runtime("--draft \(value): \(message)")
            }
            do {
                _ = try ModelFolder.registry.architecture(of: folder, with: .causalGeneration)
            } catch let error as ModelFactoryError {
                throw CLIError.usage("--draft \(value): \(error)")
            }
            return .folder(folder, precision)
        }
    }

    /// Whether a translation model can take this draft: n-grams and its own folder at int8 or
    /// f16 can, another (causal) model folder cannot.
    var fitsTranslation: Bool {
        switch source {
        case .ngram, .model(.target), .ngramThen(.target): true
        case .model(.folder), .ngramThen(.folder): false
        }
    }

    /// For a translation model in `directory`: a maker of fresh drafts (each sentence needs its
    /// own), over one loaded draft model; nil when `fitsTranslation` is false.
    func loadTranslation(target directory: URL) throws -> (() -> SpeculativeDraft)? {
        func model(_ source: ModelSource) throws -> Seq2SeqModel? {
            guard case .target(let precision) = source else { return nil }
            return try ModelFolder.loadTranslation(directory, options: ModelLoadOptions(precision: precision))
                .translator.model
        }
        switch source {
        case .ngram:
            return { NGramDraft() }
        case .model(let source):
            guard let draft = try model(source) else { return nil }
            return { Seq2SeqModelDraft(model: draft) }
        case .ngramThen(let source):
            guard let draft = try model(source) else { return nil }
            return { FallbackDraft(first: NGramDraft(), second: Seq2SeqModelDraft(model: draft)) }
        }
    }

    /// Loads the draft model (if any) for the causal model in `directory`.
    func load(target directory: URL) throws -> DraftOption {
        func model(_ source: ModelSource) throws -> CausalLanguageModel {
            let (folder, precision) =
                switch source {
                case .target(let precision): (directory, precision)
                case .folder(let folder, let precision): (folder, precision)
                }
            return try ModelFolder.loadCausal(folder, options: ModelLoadOptions(precision: precision)).languageModel
        }
        switch source {
        case .ngram:
            return DraftOption(label: label, draftTokens: draftTokens) { NGramDraft() }
        case .model(let source):
            let draft = try model(source)
            return DraftOption(label: label, draftTokens: draftTokens) { ModelDraft(model: draft) }
        case .ngramThen(let source):
            let draft = try model(source)
            return DraftOption(label: label, draftTokens: draftTokens) {
                FallbackDraft(first: NGramDraft(), second: ModelDraft(model: draft))
            }
        }
    }
}
