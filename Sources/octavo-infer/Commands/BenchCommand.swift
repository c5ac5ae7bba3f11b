import Foundation
import Generation
import Kernels
import ModelFactory
import Tensor
import Tokenizer

/// `octavo-infer bench`: load time, prefill, time to first token, decode speed and peak memory.
enum BenchCommand: Command {
    static let name = "bench"
    static let summary = "Measure load, prefill, time to first token, decode tokens/s and peak memory"
    static let help = """
        Usage: octavo-infer bench --model DIR [--prompt-tokens 32] [--new-tokens 128] [--batch 1] [--beams 1]
                                  [--threads T] [--runs 5] [--dtype f32|f16|int8|q4] [--kv-cache f32|f16]
                                  [--vocabulary-map FILE] [--quality-text FILE] [--json]
               octavo-infer bench --model GPT2_DIR --draft int8|f16|ngram|MODEL [--draft-tokens 4] [--runs 5]
               octavo-infer bench --model NLLB_DIR --draft int8|f16|ngram|ngram+int8 [--draft-tokens 4] [--runs 3]
               octavo-infer bench --model DIR --tokenizer [--file FILE]
               octavo-infer bench --model GPT2_DIR --story FILE --translator NLLB_DIR [--language spa_Latn]
                                  [--translation-tokens 48] [--runs 3]

        GPT-2: loads the model, runs one warm-up, then --runs measured runs of: a prompt of
        --prompt-tokens tokens (prefill), then --new-tokens greedy tokens, one forward pass
        each, end-of-text ignored. With --batch B, B sequences decode together (one
        forward pass for all of them per step; tokens/s is their sum).
        NLLB / M2M100: --batch source sentences of --prompt-tokens tokens (default 40) are
        translated for exactly --new-tokens target tokens each (default 64), greedy or with
        --beams; target tokens/s is target tokens over translation time (encoder and decoder,
        tokenization excluded), as CTranslate2 counts it. With --vocabulary-map (a CTranslate2
        vmap.txt, resolved through the folder's tokenizer), the output layer scores only the
        candidates the map gives for the batch's sources, as translate_batch(use_vmap=True) does.
        Reports min / median / max over the runs; quote medians on a shared machine. With
        --dtype f16, int8 or q4, or --kv-cache f16, it also reports the quality cost: top-1 agreement
        and mean absolute logit error against the same folder at fp32 with an fp32 cache,
        teacher-forced over the benchmark's tokens. GPT-2 with --quality-text: over FILE's tokens
        instead, as llama-perplexity --kl-divergence counts its "same top p" (chunks of 128 tokens,
        each from an empty cache, positions 64 to 126 compared), to set the two side by side.
        With --draft (batch 1): greedy decode of the target alone and with the draft (exact
        speculative decoding), alternating runs; reports both tokens/s, the draft's acceptance rate
        and whether the speculative ids equal the plain run's, compared on every run. For NLLB,
        greedy translation of one source, target tokens/s over the whole translation as above.
        With --tokenizer: the tokenizer's load time and encode/decode MB/s on --file (default:
        this repository's hard tokenizer corpus repeated to 5 MB when run from a checkout).

        With --story: time to the first translated paragraph and to the whole story, translated while
        it is written (as POST /v1/stories does) against written then translated. The story model
        is made to write FILE's English text (each token still a full forward pass: random weights
        write no paragraphs); each sentence is translated for --translation-tokens target tokens.

        Options:
          --model DIR          model folder
          --prompt-tokens N    prompt length (default 32)
          --new-tokens N       tokens to generate (default 128)
          --batch B            sequences decoded together (default 1)
          --threads T          compute threads (default: all cores)
          --dtype D            f32 (default), f16, int8 or q4 matrices
          --kv-cache P         f32 (default) or f16 attention caches
          --vocabulary-map F   NLLB: restrict the output layer with this CTranslate2 vocabulary map
          --quality-text F     GPT-2: measure the quality cost on this text (see above)
          --runs N             measured runs after the warm-up (default 5)
          --draft D            int8, f16, ngram or a GPT-2 folder sharing the tokenizer (see generate);
                               for NLLB int8, f16, ngram, ngram+int8 or ngram+f16 (see translate)
          --draft-tokens K     tokens proposed per round at first (default 4, adaptive)
          --draft-dtype D      precision of a --draft model folder (default f32)
          --json               one JSON object instead of a table

        Example:
          octavo-infer bench --model models/gpt2 --prompt-tokens 32 --new-tokens 128 --runs 5
        """
    static let spec = CommandLineArguments.Spec(
        options: ([
            "model", "prompt-tokens", "new-tokens", "batch", "beams", "threads", "runs", "dtype", "kv-cache", "file",
            "vocabulary-map",
            "story", "translator", "language", "translation-tokens", "quality-text",
        ] as Set<String>).union(DraftOption.options),
        flags: ["json", "tokenizer"])

    static func run(_ arguments: CommandLineArguments) throws {
        let directory = try modelDirectory(arguments)
        if arguments.has("tokenizer") {
            try runTokenizer(arguments, directory: directory)
            return
        }
        let threads = try arguments.int("threads") ?? ProcessInfo.processInfo.activeProcessorCount
        guard threads >= 1 && threads <= 256 else { throw CLIError.usage("--threads must be between 1 and 256") }
        ComputePool.configure(threads: threads)
        if let story = arguments.string("story") {
            try runStoryOverlap(arguments, directory: directory, storyFile: story, threads: threads)
            return
        }
        if try ModelFolder.architecture(of: directory).capability == .translation {
            if let draft = try TranslateCommand.translationDraft(arguments, directory: directory) {
                try runTranslationSpeculative(arguments, directory: directory, threads: threads, draft: draft)
                return
            }
            try runTranslation(arguments, directory: directory, threads: threads)
            return
        }
        guard arguments.string("beams") == nil else { throw CLIError.usage("--beams applies to translation models") }
        guard arguments.string("vocabulary-map") == nil else {
            throw CLIError.usage("--vocabulary-map applies to translation models")
        }
        if let draft = try DraftOption.parse(arguments, target: directory) {
            guard arguments.string("quality-text") == nil else {
                throw CLIError.usage("--quality-text does not apply with --draft")
            }
            try runSpeculative(arguments, directory: directory, threads: threads, draft: draft)
            return
        }
        let qualityText = try arguments.string("quality-text").map { path in
            try ByteLevelBPETokenizer.load(directory: directory).encode(String(contentsOfFile: path, encoding: .utf8))
        }
        let benchmark = GPT2Benchmark(
            promptTokens: try arguments.int("prompt-tokens") ?? 32, newTokens: try arguments.int("new-tokens") ?? 128,
            batch: try arguments.int("batch") ?? 1, runs: try arguments.int("runs") ?? 5, qualityText: qualityText)
        guard benchmark.batch >= 1 && benchmark.batch <= 256 else {
            throw CLIError.usage("--batch must be between 1 and 256")
        }
        guard benchmark.runs >= 1 && benchmark.runs <= 1000 else {
            throw CLIError.usage("--runs must be between 1 and 1000")
        }
        let report = try benchmark.run(
            directory: directory, threads: threads, precision: try GenerateCommand.precisionOption(arguments),
            cachePrecision: try GenerateCommand.cachePrecisionOption(arguments))
        if arguments.has("json") {
            try printJSON(report)
            return
        }
        print("model                \(report.model) (\(String(format: "%.0f", report.weights_mib)) MiB stored)")
        print(
            "threads / batch      \(report.threads) / \(report.batch), "
                + "\(matrices(report.dtype, report.int8_kernel)) (\(String(format: "%.0f", report.loaded_weights_mib)) "
                + "MiB loaded), \(report.kv_cache) KV cache")
        print("load                 \(String(format: "%.1f", report.load_ms)) ms")
        print("prefill \(report.prompt_tokens) tokens    \(report.prefill_ms.text) ms")
        print("time to first token  \(report.time_to_first_token_ms.text) ms")
        print("decode               \(report.decode_tokens_per_s.text) tokens/s over \(report.new_tokens) tokens")
        print("peak RSS             \(String(format: "%.0f", report.peak_rss_mib)) MiB")
        printQuality(report.quality, precision: report.dtype, cache: report.kv_cache)
    }

    /// "f32 matrices", or "int8 matrices (avx512-vnni)".
    static func matrices(_ dtype: String, _ int8Kernel: String?) -> String {
        "\(dtype) matrices" + (int8Kernel.map { " (\($0))" } ?? "")
    }

    static func printQuality(_ quality: QuantizationQuality?, precision: String, cache: String) {
        guard let quality else { return }
        print(
            String(
                format: "quality vs f32       top-1 agreement %.1f%%, mean |logit error| %.4f over %d "
                    + "positions (%@ matrices, %@ KV cache)",
                quality.top1_agreement * 100, quality.mean_abs_logit_error, quality.positions, precision, cache))
    }

    static func runSpeculative(_ arguments: CommandLineArguments, directory: URL, threads: Int, draft: DraftOption)
        throws
    {
        guard (try arguments.int("batch") ?? 1) == 1 else { throw CLIError.usage("--draft measures batch 1") }
        let benchmark = SpeculativeBenchmark(
            promptTokens: try arguments.int("prompt-tokens") ?? 32, newTokens: try arguments.int("new-tokens") ?? 128,
            runs: try arguments.int("runs") ?? 5)
        guard (1...1000).contains(benchmark.runs) else { throw CLIError.usage("--runs must be between 1 and 1000") }
        let report = try benchmark.run(
            directory: directory, threads: threads, precision: try GenerateCommand.precisionOption(arguments),
            cachePrecision: try GenerateCommand.cachePrecisionOption(arguments), draft: draft)
        if arguments.has("json") {
            try printJSON(report)
            return
        }
        print(
            "model                \(report.model), \(report.dtype) matrices, \(report.kv_cache) KV cache, "
                + "\(report.threads) threads")
        printSpeculative(
            draft: report.draft, draftTokens: report.draft_tokens, maxDraftTokens: report.max_draft_tokens,
            plain: report.plain_decode_tokens_per_s, speculative: report.speculative_decode_tokens_per_s,
            newTokens: report.new_tokens, speedup: report.speedup, acceptance: report.acceptance_rate,
            tokensPerRound: report.tokens_per_round, idsEqual: report.ids_equal_plain,
            firstDifference: report.first_difference)
    }

    /// `bench --draft` on a translation model: greedy batch 1, plain and speculative alternating.
    static func runTranslationSpeculative(
        _ arguments: CommandLineArguments, directory: URL, threads: Int,
        draft: (label: String, draft: SpeculativeDraft, tokens: Int)
    ) throws {
        guard (try arguments.int("batch") ?? 1) == 1, (try arguments.int("beams") ?? 1) == 1 else {
            throw CLIError.usage("--draft measures greedy batch 1 (drop --batch and --beams)")
        }
        guard arguments.string("vocabulary-map") == nil else {
            throw CLIError.usage("--draft measures the full vocabulary")
        }
        let benchmark = TranslationSpeculativeBenchmark(
            sourceTokens: try arguments.int("prompt-tokens") ?? 40, newTokens: try arguments.int("new-tokens") ?? 64,
            runs: try arguments.int("runs") ?? 3)
        guard (1...1000).contains(benchmark.runs) else { throw CLIError.usage("--runs must be between 1 and 1000") }
        let report = try benchmark.run(
            directory: directory, threads: threads,
            precision: try GenerateCommand.precisionOption(arguments),
            cachePrecision: try GenerateCommand.cachePrecisionOption(arguments), draft: draft)
        if arguments.has("json") {
            try printJSON(report)
            return
        }
        print(
            "model                \(report.model), \(report.dtype) matrices, \(report.kv_cache) KV cache, "
                + "\(report.threads) threads, \(report.source_tokens)-token source")
        printSpeculative(
            draft: report.draft, draftTokens: report.draft_tokens, maxDraftTokens: report.max_draft_tokens,
            plain: report.plain_decode_tokens_per_s, speculative: report.speculative_decode_tokens_per_s,
            newTokens: report.new_tokens, speedup: report.speedup, acceptance: report.acceptance_rate,
            tokensPerRound: report.tokens_per_round, idsEqual: report.ids_equal_plain,
            firstDifference: report.first_difference)
    }

    /// The lines both `bench --draft` reports print (GPT-2 decode, NLLB translation).
    static func printSpeculative(
        draft: String, draftTokens: Int, maxDraftTokens: Int, plain: Summary, speculative: Summary,
        newTokens: Int, speedup: Double, acceptance: Double, tokensPerRound: Double,
        idsEqual: Bool, firstDifference: Int?
    ) {
        print("draft                \(draft), \(draftTokens) tokens per round at first (1...\(maxDraftTokens))")
        print("plain decode         \(plain.text) tokens/s over \(newTokens) tokens")
        print("speculative decode   \(speculative.text) tokens/s (\(String(format: "%.2f", speedup))x)")
        print(
            String(
                format: "acceptance           %.1f%% of proposed tokens, %.2f tokens per target pass",
                acceptance * 100, tokensPerRound))
        let same = idsEqual ? "yes" : "NO (first difference at token \(firstDifference ?? 0))"
        print("ids equal plain run  \(same)")
    }

    static func runTranslation(_ arguments: CommandLineArguments, directory: URL, threads: Int) throws {
        let benchmark = NLLBBenchmark(
            sourceTokens: try arguments.int("prompt-tokens") ?? 40, newTokens: try arguments.int("new-tokens") ?? 64,
            batch: try arguments.int("batch") ?? 1, beams: try arguments.int("beams") ?? 1,
            runs: try arguments.int("runs") ?? 3,
            vocabularyMap: arguments.string("vocabulary-map").map { URL(fileURLWithPath: $0) })
        guard (1...256).contains(benchmark.batch), (1...16).contains(benchmark.beams),
            (1...1000).contains(benchmark.runs)
        else {
            throw CLIError.usage("--batch must be 1...256, --beams 1...16, --runs 1...1000")
        }
        let report = try benchmark.run(
            directory: directory, threads: threads, precision: try GenerateCommand.precisionOption(arguments),
            cachePrecision: try GenerateCommand.cachePrecisionOption(arguments))
        if arguments.has("json") {
            try printJSON(report)
            return
        }
        print(
            "model                \(report.model) (\(String(format: "%.0f", report.weights_mib)) MiB stored), "
                + "\(matrices(report.dtype, report.int8_kernel)), \(report.kv_cache) KV cache")
        print("threads              \(report.threads)")
        print("load                 \(String(format: "%.1f", report.load_ms)) ms")
        print(
            "batch x beams        \(report.batch) x \(report.beams), \(report.source_tokens) source tokens, "
                + "\(report.new_tokens) target tokens each")
        print("encode               \(report.encode_ms.text) ms")
        print("translate            \(report.translate_ms.text) ms")
        print("target tokens/s      \(report.target_tokens_per_s.text)")
        if let map = report.vocabulary_map, let candidates = report.output_vocabulary {
            print("output vocabulary    \(candidates) tokens of \(report.vocabulary_size), from \(map)")
        }
        print("peak RSS             \(String(format: "%.0f", report.peak_rss_mib)) MiB")
        printQuality(report.quality, precision: report.dtype, cache: report.kv_cache)
    }

    static func runStoryOverlap(_ arguments: CommandLineArguments, directory: URL, storyFile: String, threads: Int)
        throws
    {
        guard let data = FileManager.default.contents(atPath: storyFile) else {
            throw CLIError.runtime("\(storyFile): cannot read the file")
        }
        let translator = URL(fileURLWithPath: try arguments.required("translator"), isDirectory: true)
        let benchmark = StoryOverlapBenchmark(
            storyText: String(decoding: data, as: UTF8.self), language: arguments.string("language") ?? "spa_Latn",
            translationTokens: try arguments.int("translation-tokens") ?? 48, runs: try arguments.int("runs") ?? 3)
        guard (1...1000).contains(benchmark.runs), (1...1000).contains(benchmark.translationTokens) else {
            throw CLIError.usage("--runs and --translation-tokens must be between 1 and 1000")
        }
        let report = try benchmark.run(model: directory, translator: translator, threads: threads)
        if arguments.has("json") {
            try printJSON(report)
            return
        }
        print(
            "story                \(report.model), \(report.story_tokens) tokens in \(report.paragraphs) "
                + "paragraphs, \(report.threads) threads")
        print(
            "translator           \(report.translator), \(report.translation_tokens_per_sentence) target tokens "
                + "per sentence")
        print(
            "overlapped           first paragraph \(report.overlapped.first_paragraph_ms.text) ms, total "
                + "\(report.overlapped.total_ms.text) ms")
        print(
            "generate, translate  first paragraph \(report.sequential.first_paragraph_ms.text) ms, total "
                + "\(report.sequential.total_ms.text) ms")
        print(
            String(
                format: "speedup              first paragraph %.2fx, total %.2fx (medians of per-run ratios)",
                report.first_paragraph_speedup, report.total_speedup))
    }

    static func runTokenizer(_ arguments: CommandLineArguments, directory: URL) throws {
        let text: String
        if let path = arguments.string("file") {
            guard let data = FileManager.default.contents(atPath: path) else {
                throw CLIError.runtime("\(path): cannot read the file")
            }
            text = String(decoding: data, as: UTF8.self)
        } else {
            let corpus = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
                .deletingLastPathComponent()
                .deletingLastPathComponent().appendingPathComponent("Tests/Fixtures/Tokenizer/corpus/hard-corpus.txt")
            guard let data = FileManager.default.contents(atPath: corpus.path) else {
                throw CLIError.usage("give --file: the default corpus (\(corpus.path)) is only there in a checkout")
            }
            let piece = String(decoding: data, as: UTF8.self) + "\n"
            text = String(repeating: piece, count: max(1, (5 << 20) / piece.utf8.count))
        }
        let report = try TokenizerBenchmark.run(directory: directory, text: text)
        if arguments.has("json") {
            try printJSON(report)
            return
        }
        print(
            "tokenizer            \(report.tokenizer), loaded in \(String(format: "%.0f", report.load_ms)) ms "
                + "(CPU)")
        print("text                 \(String(format: "%.2f", report.text_mb)) MB, \(report.ids) ids")
        print(
            "encode               \(String(format: "%.1f", report.encode_mb_per_s)) MB/s as one string, "
                + "\(String(format: "%.1f", report.encode_lines_mb_per_s)) MB/s line by line")
        print("decode               \(String(format: "%.1f", report.decode_mb_per_s)) MB/s")
    }
}
