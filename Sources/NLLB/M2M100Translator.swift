import Foundation
import Generation

/// One source's translation.
public struct M2M100Translation: Sendable, Equatable {
    /// What transformers' `generate()` returns for the source (without batch
    /// padding): `</s>` (the decoder start), the target language id, the
    /// translation, and `</s>` when the model ended it.
    public let outputIDs: [Int]
    /// The translation alone, to detokenize: `outputIDs` without the decoder
    /// start, the target language id and the final `</s>`.
    public let translationIDs: [Int]
    /// `.eos` when the model ended the translation, `.length` when max_length cut it.
    public let finishReason: FinishReason
    /// Beam search's score for it (sum of log-probs / length^length_penalty); nil otherwise.
    public let score: Float?
}

/// What `M2M100Translator.translate` returns: one translation per source, in order.
public struct M2M100TranslationResult: Sendable {
    public let translations: [M2M100Translation]
    /// encode_ms, decode_ms, source and target token counts, decoder steps.
    public let timings: Seq2SeqTimings
}

/// Translates tokenized sentences with an NLLB / M2M100 model, as
/// `model.generate(**tokenizer(texts, padding=True), forced_bos_token_id=<target language id>)`
/// does: all sources in one batch, one encoder pass, batched decoder steps.
///
/// Works on ids: a source is what NLLBTokenizer produces for a sentence
/// (`[source language id, pieces..., </s>]`), the target language is its code's id
/// (e.g. `fra_Latn`). Sentence splitting and detokenizing are the caller's.
public final class M2M100Translator {
    public let model: M2M100Model
    /// The folder's generation_config.json (NLLB-200: greedy, max_length 200).
    public let generationConfig: GenerationConfigFile
    private let generator: Seq2SeqGenerator

    /// Loads the model and generation_config.json of a Hugging Face folder.
    public convenience init(directory: URL) throws {
        try self.init(
            model: M2M100Model(directory: directory), generationConfig: GenerationConfigFile.load(directory: directory))
    }

    public init(model: M2M100Model, generationConfig: GenerationConfigFile = GenerationConfigFile()) {
        self.model = model
        self.generationConfig = generationConfig
        generator = Seq2SeqGenerator(model: model)
    }

    /// The parameters generation_config.json asks for (config.json's token ids for
    /// what it leaves out), translating into `targetLanguageID`. Adjust and pass to
    /// `translate` (e.g. `numBeams = 4`, `generation.maxNewTokens`).
    public func defaultParameters(targetLanguageID: Int) -> Seq2SeqParameters {
        var parameters = Seq2SeqParameters(
            file: generationConfig, decoderStartTokenID: model.config.decoderStartTokenID,
            eosTokenIDs: [model.config.eosTokenID])
        parameters.forcedBOSTokenID = targetLanguageID
        return parameters
    }

    /// Translates every source into the target language in one batch. `parameters`
    /// defaults to `defaultParameters(targetLanguageID:)`; its forced first token is
    /// always the target language. `shouldStop` is asked before each decoder step.
    public func translate(
        _ sources: [[Int]], targetLanguageID: Int, parameters: Seq2SeqParameters? = nil,
        shouldStop: (() -> Bool)? = nil
    ) throws -> M2M100TranslationResult {
        guard targetLanguageID >= 0 && targetLanguageID < model.vocabularySize else {
            throw M2M100Error.tokenOutOfRange(id: targetLanguageID, vocabularySize: model.vocabularySize)
        }
        var parameters = parameters ?? defaultParameters(targetLanguageID: targetLanguageID)
        parameters.forcedBOSTokenID = targetLanguageID
        let result = try generator.generate(sources: sources, parameters: parameters, shouldStop: shouldStop)
        let translations = result.outputs.map {
            translation(of: $0, targetLanguageID: targetLanguageID, eosTokenIDs: parameters.generation.eosTokenIDs)
        }
        return M2M100TranslationResult(translations: translations, timings: result.timings)
    }

    /// Translates the sources one at a time with `speculative` (greedy, a draft checked by
    /// this model): the same ids as `translate`. The timings count each source's encoding
    /// inside `decodeMs`, and a verify pass as one decoder step.
    public func translate(
        _ sources: [[Int]], targetLanguageID: Int, parameters: Seq2SeqParameters, speculative: Seq2SeqSpeculativeDecoder
    ) throws -> (result: M2M100TranslationResult, statistics: SpeculativeStatistics) {
        guard targetLanguageID >= 0 && targetLanguageID < model.vocabularySize else {
            throw M2M100Error.tokenOutOfRange(id: targetLanguageID, vocabularySize: model.vocabularySize)
        }
        var parameters = parameters
        parameters.forcedBOSTokenID = targetLanguageID
        var timings = Seq2SeqTimings()
        var statistics = SpeculativeStatistics()
        var outputs: [Seq2SeqOutput] = []
        let start = DispatchTime.now()
        for source in sources {
            let (output, own) = try speculative.translate(source: source, parameters: parameters)
            outputs.append(output)
            statistics.rounds += own.rounds
            statistics.proposedTokens += own.proposedTokens
            statistics.acceptedTokens += own.acceptedTokens
            timings.sourceTokens += source.count
            timings.targetTokens += output.ids.count - 1
        }
        timings.decodeMs = Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e6
        timings.decoderSteps = statistics.rounds
        timings.decodedRows = statistics.rounds + statistics.proposedTokens
        let translations = outputs.map {
            translation(of: $0, targetLanguageID: targetLanguageID, eosTokenIDs: parameters.generation.eosTokenIDs)
        }
        return (M2M100TranslationResult(translations: translations, timings: timings), statistics)
    }

    /// One generated output as a translation: the ids to detokenize are those after the
    /// target language, without the final EOS.
    public func translation(of output: Seq2SeqOutput, targetLanguageID: Int, eosTokenIDs: [Int]) -> M2M100Translation {
        var ids = output.generatedIDs
        if ids.first == targetLanguageID { ids = ids.dropFirst() }
        if let last = ids.last, eosTokenIDs.contains(last) { ids = ids.dropLast() }
        return M2M100Translation(
            outputIDs: output.ids, translationIDs: Array(ids), finishReason: output.finishReason,
            score: output.score)
    }
}
