import Foundation
import Generation
import Kernels
import NLLB
import Tensor
import Tokenizer

/// Translation timings of an NLLB / M2M100 folder, counted as CTranslate2 counts them:
/// target tokens over translation time (encoder and decoder; tokenization excluded).
/// Sources are random ids of a given length; every sentence is decoded for exactly
/// `newTokens` target tokens (EOS ignored), greedy or with beams.
struct NLLBBenchmark {
    let sourceTokens: Int
    let newTokens: Int
    let batch: Int
    let beams: Int
    let runs: Int
    /// A CTranslate2 vocabulary map restricting the output layer, read with the folder's tokenizer.
    var vocabularyMap: URL?

    struct Report: Encodable {
        let model: String
        let dtype: String
        /// The instructions int8 products ran on (`Int8Kernel`); absent unless dtype is int8.
        let int8_kernel: String?
        /// What the attention caches keep keys and values as (f32 or f16).
        let kv_cache: String
        let load_ms: Double
        let source_tokens: Int
        let new_tokens: Int
        let batch: Int
        let beams: Int
        let threads: Int
        let runs: Int
        let encode_ms: Summary
        let translate_ms: Summary
        let target_tokens_per_s: Summary
        let peak_rss_mib: Double
        let weights_mib: Double
        /// Against the same folder at fp32 with an fp32 cache (absent for f32 with an f32 cache, and for folders saved quantized): the first source, teacher-forced.
        let quality: QuantizationQuality?
        /// The vocabulary map's file name, with --vocabulary-map.
        let vocabulary_map: String?
        /// Tokens the output layer scored for the batch, with --vocabulary-map.
        let output_vocabulary: Int?
        let vocabulary_size: Int
    }

    func run(directory: URL, threads: Int, precision: WeightPrecision, cachePrecision: KVCachePrecision) throws
        -> Report
    {
        let loadStart = DispatchTime.now()
        let translator = try M2M100Translator(
            model: M2M100Model(directory: directory, precision: precision, cachePrecision: cachePrecision),
            generationConfig: GenerationConfigFile.load(directory: directory))
        let loadMs = elapsedMilliseconds(since: loadStart)
        let model = translator.model
        guard sourceTokens >= 3, sourceTokens <= model.maxSourcePositions, newTokens >= 2,
            newTokens + 1 <= model.maxTargetPositions
        else {
            throw CLIError.usage(
                "--prompt-tokens must be 3...\(model.maxSourcePositions) and --new-tokens "
                    + "2...\(model.maxTargetPositions - 1)")
        }
        let eos = model.config.eosTokenID
        // A language-code-like first id, plain pieces, </s>: the shape NLLBTokenizer gives.
        let language = max(4, model.vocabularySize - 200)
        let sources = (0..<batch).map { i in
            [language]
                + benchmarkPrompt(
                    count: sourceTokens - 2, vocabularySize: min(model.vocabularySize - 210, 200_000),
                    seed: UInt64(i + 1)
                ).map { $0 + 4 } + [eos]
        }
        var parameters = translator.defaultParameters(targetLanguageID: language + 1)
        parameters.numBeams = beams
        parameters.generation.maxNewTokens = newTokens
        parameters.generation.maxLength = nil
        parameters.generation.eosTokenIDs = []
        if let url = vocabularyMap {
            let map = try VocabularyMap(contentsOf: url, tokenizer: NLLBTokenizer(folder: directory))
            parameters.outputVocabulary = map.vocabulary(sources: sources, targetPrefix: [language + 1])
        }
        var encode: [Double] = []
        var total: [Double] = []
        var rate: [Double] = []
        var lastOutput: [Int] = []
        for run in 0...runs {
            let start = DispatchTime.now()
            let result = try translator.translate(sources, targetLanguageID: language + 1, parameters: parameters)
            lastOutput = result.translations[0].outputIDs
            let ms = elapsedMilliseconds(since: start)
            guard run > 0 else { continue }
            encode.append(result.timings.encodeMs)
            total.append(ms)
            rate.append(Double(result.timings.targetTokens) / (ms / 1000))
        }
        let peak = peakResidentMiB()
        var quality: QuantizationQuality?
        // A folder saved by `quantize` is its own reference: no fp32 copy to measure against.
        let stored = QuantizedTensors.storedPrecision(of: model.checkpoint)
        if (precision != .f32 || cachePrecision != .f32) && stored == nil {
            quality = try QuantizationQuality.measure(
                M2M100Model(directory: directory), model, source: sources[0],
                targets: Array(lastOutput.dropLast().prefix(model.maxTargetPositions)))
        }
        return Report(
            model: directory.lastPathComponent, dtype: (stored ?? precision).rawValue,
            int8_kernel: (stored ?? precision) == .int8 ? Int8Kernel.selected.rawValue : nil,
            kv_cache: cachePrecision.rawValue, load_ms: loadMs, source_tokens: sourceTokens, new_tokens: newTokens,
            batch: batch, beams: beams, threads: threads, runs: runs, encode_ms: Summary(encode),
            translate_ms: Summary(total),
            target_tokens_per_s: Summary(rate), peak_rss_mib: peak,
            weights_mib: Double(model.checkpoint.storedBytes) / 1_048_576,
            quality: quality, vocabulary_map: vocabularyMap?.lastPathComponent,
            output_vocabulary: parameters.outputVocabulary?.count,
            vocabulary_size: model.vocabularySize)
    }
}
