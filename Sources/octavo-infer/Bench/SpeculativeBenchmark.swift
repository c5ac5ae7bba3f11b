import Foundation
import GPT2
import Generation
import Kernels
import Tensor
import Tokenizer

/// Greedy decode of a GPT-2 target alone against the same target with a draft (exact
/// speculative decoding), alternating runs: tokens/s of each, the draft's acceptance, and
/// whether the speculative ids equal the plain ids (compared, every run).
struct SpeculativeBenchmark {
    let promptTokens: Int
    let newTokens: Int
    let runs: Int

    struct Report: Encodable {
        let model: String
        let dtype: String
        let kv_cache: String
        let draft: String
        /// Tokens per round the draft starts at (it adapts between 1 and max_draft_tokens).
        let draft_tokens: Int
        let max_draft_tokens: Int
        let prompt_tokens: Int
        let new_tokens: Int
        let batch = 1
        let threads: Int
        let runs: Int
        /// The speculative figure under the name every bench report uses.
        let decode_tokens_per_s: Summary
        /// New tokens after the first per second of decoding, target alone.
        let plain_decode_tokens_per_s: Summary
        /// The same with the draft; the draft's own passes are inside the time.
        let speculative_decode_tokens_per_s: Summary
        /// Median speculative over median plain.
        let speedup: Double
        /// Proposed tokens the target kept (the last run).
        let acceptance_rate: Double
        /// Tokens per target verify pass (1 would be no gain).
        let tokens_per_round: Double
        /// Whether every speculative run produced exactly the plain run's ids.
        let ids_equal_plain: Bool
        /// Where the first differing run first differed, if one did.
        let first_difference: Int?
        let peak_rss_mib: Double
    }

    /// Ids and no text: both loops pay the same (nothing) for detokenizing.
    private struct IDsOnly: Tokenizer {
        let vocabularySize: Int
        var specialTokenIDs: Set<Int> { [] }
        func encode(_ text: String) -> [Int] { [] }
        func decode(_ ids: [Int], skipSpecialTokens: Bool) -> String { "" }
        func bytes(forToken id: Int, isFirst: Bool) -> [UInt8]? { nil }
    }

    func run(
        directory: URL, threads: Int, precision: WeightPrecision, cachePrecision: KVCachePrecision,
        draft: DraftOption
    ) throws -> Report {
        let model = try GPT2Model(directory: directory, precision: precision, cachePrecision: cachePrecision)
        guard promptTokens >= 1, newTokens >= 2, promptTokens + newTokens <= model.maxPositions else {
            throw CLIError.usage(
                "--prompt-tokens + --new-tokens must be between 3 and the model's "
                    + "\(model.maxPositions) positions")
        }
        let tokenizer = IDsOnly(vocabularySize: model.vocabularySize)
        let prompt = benchmarkPrompt(count: promptTokens, vocabularySize: model.vocabularySize, seed: 1)
        var parameters = GenerationParameters()
        parameters.maxNewTokens = newTokens
        parameters.eosTokenIDs = []
        let plain = TextGenerator(model: model, tokenizer: tokenizer)
        let speculative = try draft.decoder(target: model, tokenizer: tokenizer)

        var plainRates: [Double] = []
        var speculativeRates: [Double] = []
        var allEqual = true
        var firstDifference: Int?
        var statistics = SpeculativeStatistics()
        for run in 0...runs {  // run 0 warms caches and pages in both models' weights
            let reference = try plain.generate(promptIDs: prompt, parameters: parameters)
            let result = try speculative.generate(promptIDs: prompt, parameters: parameters)
            statistics = result.statistics
            let ids = result.generation.generatedIDs
            if ids != reference.generatedIDs {
                allEqual = false
                firstDifference = firstDifference ?? Self.firstDifference(ids, reference.generatedIDs)
            }
            guard run > 0 else { continue }
            plainRates.append(reference.timings.decodeTokensPerSecond)
            speculativeRates.append(result.generation.timings.decodeTokensPerSecond)
        }
        let plainSummary = Summary(plainRates)
        let speculativeSummary = Summary(speculativeRates)
        return Report(
            model: directory.lastPathComponent, dtype: precision.rawValue, kv_cache: cachePrecision.rawValue,
            draft: draft.label,
            draft_tokens: draft.draftTokens, max_draft_tokens: speculative.maxDraftTokens, prompt_tokens: promptTokens,
            new_tokens: newTokens, threads: threads, runs: runs, decode_tokens_per_s: speculativeSummary,
            plain_decode_tokens_per_s: plainSummary,
            speculative_decode_tokens_per_s: speculativeSummary,
            speedup: plainSummary.median > 0 ? speculativeSummary.median / plainSummary.median : 0,
            acceptance_rate: statistics.acceptanceRate, tokens_per_round: statistics.tokensPerRound,
            ids_equal_plain: allEqual, first_difference: firstDifference, peak_rss_mib: peakResidentMiB())
    }

    /// Where two id lists first differ (the shorter one's length when one extends the other).
    static func firstDifference(_ a: [Int], _ b: [Int]) -> Int {
        zip(a, b).enumerated().first { $0.element.0 != $0.element.1 }?.offset ?? min(a.count, b.count)
    }
}
