import Foundation
import HTTPServer
import NLLB
import Tokenizer

/// NLLB-200 behind the server's `TranslationBackend`: the requests of a batch that
/// share a language pair and settings go through the model as one batch of sentences.
public final class NLLBTranslationBackend: TranslationBackend, Sendable {
    public let pipeline: NLLBPipeline
    public let languages: [String]

    public init(pipeline: NLLBPipeline) {
        self.pipeline = pipeline
        languages = pipeline.tokenizer.languageCodes
    }

    public func validateLanguage(_ code: String, field: String) throws {
        guard !languages.contains(code) else { return }
        throw TranslationError.unsupportedLanguage(code: code, field: field,
                                                   suggestion: FloresLanguages.suggestions(for: code, among: languages).first)
    }

    public func translate(batch: [TranslationRequest]) throws -> [TranslationResult] {
        var results = batch.map { TranslationResult(texts: Array(repeating: "", count: $0.texts.count)) }
        // The forced first token (the target language) and the search settings are per
        // model call, so requests are grouped by them; within a group every sentence of
        // every text shares one encoder pass and one batched decode.
        struct Key: Hashable { let source: String; let target: String; let beams: Int?; let maxNewTokens: Int? }
        var groups: [Key: [(request: Int, text: Int)]] = [:]
        var order: [Key] = []
        for (r, request) in batch.enumerated() {
            let key = Key(source: request.source, target: request.target, beams: request.beams,
                          maxNewTokens: request.maxNewTokens.map { min($0, pipeline.translator.model.maxTargetPositions - 2) })
            for (t, text) in request.texts.enumerated() where !text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty {
                if groups[key] == nil { order.append(key) }
                groups[key, default: []].append((r, t))
            }
        }
        for key in order {
            let members = groups[key]!
            var options = NLLBPipeline.Options(source: key.source, target: key.target, beams: key.beams, maxNewTokens: key.maxNewTokens)
            options.beams = key.beams
            let output = try pipeline.translate(members.map { batch[$0.request].texts[$0.text] }, options: options)
            for (member, translation) in zip(members, output.translations) {
                results[member.request].texts[member.text] = translation.text
                for sentence in translation.sentences {
                    // The encoder reads the sentence plus its language code and </s>.
                    results[member.request].promptTokens += pipeline.tokenizer.encode(sentence.source).count + 2
                    results[member.request].generatedTokens += sentence.outputIDs.count
                }
            }
        }
        return results
    }
}
