import Foundation
import Generation
import HTTPServer
import NLLB
import Tokenizer

/// NLLB-200 behind the server's `TranslationBackend`: `NLLBPipeline` cuts and tokenizes each
/// request on its own thread, the executor runs its sentences on `M2M100Model`, and the
/// pipeline puts the translations back into the texts' layout.
public final class NLLBTranslationBackend: TranslationBackend, Sendable {
    public let pipeline: NLLBPipeline
    public let languages: [String]

    public init(pipeline: NLLBPipeline) {
        self.pipeline = pipeline
        languages = pipeline.tokenizer.languageCodes
    }

    public var model: Seq2SeqModel { pipeline.translator.model }

    public func validateLanguage(_ code: String, field: String) throws {
        guard !languages.contains(code) else { return }
        throw TranslationError.unsupportedLanguage(
            code: code, field: field,
            suggestion: FloresLanguages.suggestions(for: code, among: languages).first)
    }

    /// Which texts of the request have sentences (blank ones translate to ""), and the
    /// pipeline's sentences of those.
    private struct Layout {
        let translated: [Int]
        let textCount: Int
        let prepared: NLLBPipeline.Prepared?
    }

    public func prepare(_ request: TranslationRequest) throws -> PreparedTranslation {
        let translated = request.texts.indices.filter {
            !request.texts[$0].trimmingCharacters(in: .whitespacesAndNewlines).isEmpty
        }
        let maxNewTokens = request.maxNewTokens.map { min($0, model.maxTargetPositions - 2) }
        var options = NLLBPipeline.Options(
            source: request.source, target: request.target, beams: request.beams,
            maxNewTokens: maxNewTokens)
        options.beams = request.beams
        guard !translated.isEmpty else {
            let layout = Layout(translated: [], textCount: request.texts.count, prepared: nil)
            let parameters = Seq2SeqParameters(decoderStartTokenID: 0, eosTokenIDs: [])
            return PreparedTranslation(sources: [], parameters: parameters, maxLength: 2, seed: nil, layout: layout)
        }
        let prepared = try pipeline.prepare(translated.map { request.texts[$0] }, options: options)
        let parameters = prepared.parameters
        let maxLength = try parameters.resolvedMaxLength(maxTargetPositions: model.maxTargetPositions)
        var seed: UInt64?
        if parameters.numBeams == 1 && !parameters.generation.isGreedy {
            seed = parameters.generation.seed ?? UInt64.random(in: 0...UInt64.max)
        }
        return PreparedTranslation(
            sources: prepared.sources, parameters: parameters, maxLength: maxLength, seed: seed,
            layout: Layout(translated: translated, textCount: request.texts.count, prepared: prepared))
    }

    public func assemble(_ prepared: PreparedTranslation, outputs: [Seq2SeqOutput]) throws -> TranslationResult {
        guard let layout = prepared.layout as? Layout else {
            throw ExecutorError.backendContract(model: "nllb", reason: "a translation prepared by another backend")
        }
        var result = TranslationResult(texts: Array(repeating: "", count: layout.textCount))
        guard let sentences = layout.prepared else { return result }
        let translations = try pipeline.assemble(sentences, outputs: outputs)
        for (text, translation) in zip(layout.translated, translations) {
            result.texts[text] = translation.text
        }
        // The encoder reads each sentence plus its language code and </s>.
        result.promptTokens = prepared.sources.reduce(0) { $0 + $1.count }
        result.generatedTokens = outputs.reduce(0) { $0 + $1.ids.count - 1 }
        return result
    }
}
