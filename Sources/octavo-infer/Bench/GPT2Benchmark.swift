import Foundation
import GPT2
import Generation
import Kernels
import Tensor

/// Prefill and decode timings of a GPT-2 folder, measured the way the peers are:
/// a prompt of N tokens, then M greedy tokens one forward pass each, EOS ignored.
struct GPT2Benchmark {
    let promptTokens: Int
    let newTokens: Int
    let batch: Int
    let runs: Int

    struct Report: Encodable {
        let model: String
        let dtype: String
        /// The instructions int8 products ran on (`Int8Kernel`); absent unless dtype is int8.
        let int8_kernel: String?
        /// What the attention caches keep keys and values as (f32 or f16).
        let kv_cache: String
        let load_ms: Double
        let prompt_tokens: Int
        let new_tokens: Int
        let batch: Int
        let threads: Int
        let runs: Int
        /// Prompt forward pass (all sequences of the batch).
        let prefill_ms: Summary
        /// Prefill plus choosing the first token.
        let time_to_first_token_ms: Summary
        /// Single-token steps per second, summed over the batch.
        let decode_tokens_per_s: Summary
        let peak_rss_mib: Double
        let weights_mib: Double
        let loaded_weights_mib: Double
        /// Against the same folder at fp32 with an fp32 cache (absent for f32 with an f32 cache, and for folders saved quantized).
        let quality: QuantizationQuality?
    }

    func run(directory: URL, threads: Int, precision: WeightPrecision, cachePrecision: KVCachePrecision) throws
        -> Report
    {
        let loadStart = DispatchTime.now()
        let model = try GPT2Model(directory: directory, precision: precision, cachePrecision: cachePrecision)
        let loadMs = elapsedMilliseconds(since: loadStart)
        let vocabulary = model.vocabularySize
        guard promptTokens >= 1, newTokens >= 1, promptTokens + newTokens <= model.maxPositions else {
            throw CLIError.usage(
                "--prompt-tokens + --new-tokens must be between 2 and the model's "
                    + "\(model.maxPositions) positions")
        }
        let prompts = (0..<batch).map {
            benchmarkPrompt(count: promptTokens, vocabularySize: vocabulary, seed: UInt64($0 + 1))
        }
        let caches = prompts.map { _ in model.makeCache(capacity: promptTokens + newTokens) }
        let logits = UnsafeMutablePointer<Float>.allocate(capacity: batch * vocabulary)
        defer { logits.deallocate() }
        var steps = zip(caches, prompts).map { SequenceStep(cache: $0, tokens: $1[...]) }
        var nextTokens = [[Int]](repeating: [0], count: batch)

        var prefill: [Double] = []
        var firstToken: [Double] = []
        var decode: [Double] = []
        for run in 0...runs {  // run 0 warms caches and pages in the weights
            for (i, cache) in caches.enumerated() {
                cache.reset()
                steps[i].tokens = prompts[i][...]
            }
            let start = DispatchTime.now()
            try model.forward(steps, logits: logits)
            let prefillMs = elapsedMilliseconds(since: start)
            for i in 0..<batch {
                steps[i].tokens = []  // so that writing nextTokens[i] does not copy it (see TextGenerator)
                nextTokens[i][0] = LogitsProcessors.argmax(logits + i * vocabulary, count: vocabulary)
            }
            let firstMs = elapsedMilliseconds(since: start)
            let decodeStart = DispatchTime.now()
            for _ in 1..<newTokens {
                for i in 0..<batch { steps[i].tokens = nextTokens[i][...] }
                try model.forward(steps, logits: logits)
                for i in 0..<batch {
                    steps[i].tokens = []
                    nextTokens[i][0] = LogitsProcessors.argmax(logits + i * vocabulary, count: vocabulary)
                }
            }
            let decodeMs = elapsedMilliseconds(since: decodeStart)
            guard run > 0 else { continue }
            prefill.append(prefillMs)
            firstToken.append(firstMs)
            decode.append(Double((newTokens - 1) * batch) / (decodeMs / 1000))
        }
        let weightBytes = model.checkpoint.storedBytes
        let peak = peakResidentMiB()  // before the fp32 copy the quality check loads
        var quality: QuantizationQuality?
        // A folder saved by `quantize` is its own reference: no fp32 copy to measure against.
        let stored = QuantizedTensors.storedPrecision(of: model.checkpoint)
        if (precision != .f32 || cachePrecision != .f32) && stored == nil {
            // The first sequence's prompt and what the quantized model generated after it.
            let tokens = Array((prompts[0] + [nextTokens[0][0]]).prefix(min(64, model.maxPositions)))
            quality = try QuantizationQuality.measure(GPT2Model(directory: directory), model, tokens: tokens)
        }
        return Report(
            model: directory.lastPathComponent, dtype: (stored ?? precision).rawValue,
            int8_kernel: (stored ?? precision) == .int8 ? Int8Kernel.selected.rawValue : nil,
            kv_cache: cachePrecision.rawValue, load_ms: loadMs, prompt_tokens: promptTokens, new_tokens: newTokens,
            batch: batch, threads: threads, runs: runs, prefill_ms: Summary(prefill),
            time_to_first_token_ms: Summary(firstToken),
            decode_tokens_per_s: Summary(decode), peak_rss_mib: peak, weights_mib: Double(weightBytes) / 1_048_576,
            loaded_weights_mib: Double(model.weightBytes) / 1_048_576, quality: quality)
    }
}
