import Foundation
import Generation
import NLLB
import Tensor

/// Greedy batch-1 translation of an NLLB / M2M100 folder alone against the same model with a
/// draft (exact speculative decoding), alternating runs: target tokens/s of each over the whole
/// translation (encoder included, as `NLLBBenchmark` and CTranslate2 count), the draft's
/// acceptance, and whether the speculative ids equal the plain ids (compared, every run).
struct TranslationSpeculativeBenchmark {
    let sourceTokens: Int
    let newTokens: Int
    let runs: Int

    struct Report: Encodable {
        let model: String
        let dtype: String
        let kv_cache: String
        let task = "translate"
        let draft: String
        let draft_tokens: Int
        let max_draft_tokens: Int
        let source_tokens: Int
        let new_tokens: Int
        let batch = 1
        let beams = 1
        let threads: Int
        let runs: Int
        /// The speculative figure under the names the bench reports use.
        let decode_tokens_per_s: Summary
        let target_tokens_per_s: Summary
        /// Target tokens per second of translation, the model alone.
        let plain_decode_tokens_per_s: Summary
        /// The same with the draft; the draft's own passes are inside the time.
        let speculative_decode_tokens_per_s: Summary
        /// Median speculative over median plain.
        let speedup: Double
        /// Proposed tokens the model kept (the last run).
        let acceptance_rate: Double
        /// Tokens per verify pass (1 would be no gain).
        let tokens_per_round: Double
        let ids_equal_plain: Bool
        let first_difference: Int?
        let peak_rss_mib: Double
    }

    func run(
        directory: URL, threads: Int, precision: WeightPrecision, cachePrecision: KVCachePrecision,
        draft: (label: String, draft: SpeculativeDraft, tokens: Int)
    ) throws -> Report {
        let model = try M2M100Model(directory: directory, precision: precision, cachePrecision: cachePrecision)
        let translator = M2M100Translator(
            model: model, generationConfig: try GenerationConfigFile.load(directory: directory))
        guard (3...model.maxSourcePositions).contains(sourceTokens), newTokens >= 2,
            newTokens + 1 <= model.maxTargetPositions
        else {
            throw CLIError.usage(
                "--prompt-tokens must be 3...\(model.maxSourcePositions) and --new-tokens "
                    + "2...\(model.maxTargetPositions - 1)")
        }
        let speculative: Seq2SeqSpeculativeDecoder
        do {
            speculative = try Seq2SeqSpeculativeDecoder(model: model, draft: draft.draft, draftTokens: draft.tokens)
        } catch let error as SpeculativeError {
            throw CLIError.usage("\(error)")
        }
        // The source shape of `NLLBBenchmark`: a language-code-like id, plain pieces, </s>.
        let language = max(4, model.vocabularySize - 200)
        let pieces = benchmarkPrompt(
            count: sourceTokens - 2, vocabularySize: min(model.vocabularySize - 210, 200_000),
            seed: 1)
        let source = [language] + pieces.map { $0 + 4 } + [model.config.eosTokenID]
        var parameters = translator.defaultParameters(targetLanguageID: language + 1)
        parameters.numBeams = 1
        parameters.generation.doSample = false
        parameters.generation.maxNewTokens = newTokens
        parameters.generation.maxLength = nil
        parameters.generation.eosTokenIDs = []

        var plainRates: [Double] = []
        var speculativeRates: [Double] = []
        var allEqual = true
        var firstDifference: Int?
        var statistics = SpeculativeStatistics()
        for run in 0...runs {  // run 0 warms caches and pages in both models' weights
            var start = DispatchTime.now()
            let reference = try translator.translate([source], targetLanguageID: language + 1, parameters: parameters)
            let plainMs = elapsedMilliseconds(since: start)
            start = DispatchTime.now()
            let (result, own) = try translator.translate(
                [source], targetLanguageID: language + 1, parameters: parameters,
                speculative: speculative)
            let speculativeMs = elapsedMilliseconds(since: start)
            statistics = own
            let ids = result.translations[0].outputIDs
            let expected = reference.translations[0].outputIDs
            if ids != expected {
                allEqual = false
                firstDifference = firstDifference ?? SpeculativeBenchmark.firstDifference(ids, expected)
            }
            guard run > 0 else { continue }
            plainRates.append(Double(reference.timings.targetTokens) / (plainMs / 1000))
            speculativeRates.append(Double(result.timings.targetTokens) / (speculativeMs / 1000))
        }
        let plainSummary = Summary(plainRates)
        let speculativeSummary = Summary(speculativeRates)
        return Report(
            model: directory.lastPathComponent, dtype: precision.rawValue, kv_cache: cachePrecision.rawValue,
            draft: draft.label, draft_tokens: draft.tokens, max_draft_tokens: speculative.maxDraftTokens,
            source_tokens: sourceTokens, new_tokens: newTokens, threads: threads, runs: runs,
            decode_tokens_per_s: speculativeSummary, target_tokens_per_s: speculativeSummary,
            plain_decode_tokens_per_s: plainSummary, speculative_decode_tokens_per_s: speculativeSummary,
            speedup: plainSummary.median > 0 ? speculativeSummary.median / plainSummary.median : 0,
            acceptance_rate: statistics.acceptanceRate, tokens_per_round: statistics.tokensPerRound,
            ids_equal_plain: allEqual, first_difference: firstDifference, peak_rss_mib: peakResidentMiB())
    }
}
