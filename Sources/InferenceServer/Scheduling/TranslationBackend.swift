import Foundation
import Generation
import HTTPServer

/// One translation request as a backend sees it: texts already cut into the units to
/// translate (the API layer splits legacy text into sentences and keeps `[...]` tags out),
/// all from `source` into `target`.
public struct TranslationRequest: Sendable, Equatable {
    /// Each text is translated as one sequence; the result has one translation per text,
    /// in order. Texts may be empty (translate to empty).
    public var texts: [String]
    /// FLORES-200 codes (`eng_Latn`, `spa_Latn`), already checked with `validateLanguage`.
    public var source: String
    public var target: String
    /// Beam width; nil means the model's own default (its generation_config.json).
    public var beams: Int?
    /// Most new tokens per text; nil means the model's own default.
    public var maxNewTokens: Int?

    public init(texts: [String], source: String, target: String, beams: Int? = nil, maxNewTokens: Int? = nil) {
        self.texts = texts
        self.source = source
        self.target = target
        self.beams = beams
        self.maxNewTokens = maxNewTokens
    }
}

/// The translations of one `TranslationRequest`, one per input text, in order.
public struct TranslationResult: Sendable, Equatable {
    public var texts: [String]
    /// Source tokens the encoder read and tokens the decoder wrote, for `/metrics` and the
    /// request log; a backend that cannot count leaves them 0.
    public var promptTokens: Int
    public var generatedTokens: Int

    public init(texts: [String], promptTokens: Int = 0, generatedTokens: Int = 0) {
        self.texts = texts
        self.promptTokens = promptTokens
        self.generatedTokens = generatedTokens
    }
}

/// Why a translation request was refused before it ran.
public enum TranslationError: Error, CustomStringConvertible, Equatable {
    case unsupportedLanguage(code: String, field: String, suggestion: String?)

    public var description: String {
        switch self {
        case .unsupportedLanguage(let code, let field, let suggestion):
            let hint = suggestion.map { " Did you mean '\($0)'?" } ?? ""
            return "Unknown \(field) language '\(code)': use a FLORES-200 code such as eng_Latn or spa_Latn (GET "
                + "/v1/languages lists them).\(hint)"
        }
    }
}

/// A request cut into the sentences the model runs, on the request's thread (as completions
/// tokenize in the handler): each source is one slot of the executor.
///
/// Sendable by hand: `layout` is the backend's own immutable value, handed back to it unchanged.
public struct PreparedTranslation: @unchecked Sendable {
    /// Every sentence to translate, as the encoder reads it, in order.
    public var sources: [[Int]]
    /// Shared by every sentence of the request, already validated against the model.
    public var parameters: Seq2SeqParameters
    /// transformers' max_length for these parameters (`Seq2SeqParameters.resolvedMaxLength`).
    public var maxLength: Int
    /// When sampling, sentence i draws with seed + i.
    public var seed: UInt64?
    /// What the backend needs to put the sentences' outputs back into texts.
    public var layout: Any

    public init(sources: [[Int]], parameters: Seq2SeqParameters, maxLength: Int, seed: UInt64?, layout: Any) {
        self.sources = sources
        self.parameters = parameters
        self.maxLength = maxLength
        self.seed = seed
        self.layout = layout
    }
}

/// A translation model as the server drives it. The NLLB-200 implementation plugs in here
/// (see `ServerApp.addTranslationModel` and the `serve` command's model loader).
///
/// Threading: `model` is driven only by the model's one `TranslationExecutor` thread;
/// everything else may be called from any thread (it must only read immutable state).
public protocol TranslationBackend: AnyObject, Sendable {
    /// Every language code the model accepts (FLORES-200, e.g. `spa_Latn`), for
    /// `GET /v1/languages` and validation.
    var languages: [String] { get }

    /// Throws `TranslationError.unsupportedLanguage` for a code the model cannot use;
    /// `field` names the request field (`target`, `Tgt_lang`...) for the message.
    func validateLanguage(_ code: String, field: String) throws

    /// The encoder-decoder the executor steps, one sentence per slot.
    var model: Seq2SeqModel { get }

    /// Cuts the request's texts into sentences and tokenizes them. Throwing refuses the
    /// request before it is queued.
    func prepare(_ request: TranslationRequest) throws -> PreparedTranslation

    /// The texts of `prepared`'s request from its sentences' outputs (`outputs[i]` for
    /// `prepared.sources[i]`): one text per input text, in order.
    func assemble(_ prepared: PreparedTranslation, outputs: [Seq2SeqOutput]) throws -> TranslationResult
}

extension TranslationBackend {
    /// The default check: the code must be one of `languages`.
    public func validateLanguage(_ code: String, field: String) throws {
        guard !languages.contains(code) else { return }
        let lowered = code.lowercased()
        let suggestion =
            languages.first { $0.lowercased() == lowered }
            ?? languages.first { $0.lowercased().hasPrefix(String(lowered.prefix(3))) && lowered.count >= 3 }
        throw TranslationError.unsupportedLanguage(code: code, field: field, suggestion: suggestion)
    }
}
