import Foundation
import Tensor

/// `octavo-infer bench`: load time, prefill, time to first token, decode speed and peak memory.
enum BenchCommand: Command {
    static let name = "bench"
    static let summary = "Measure load, prefill, time to first token, decode tokens/s and peak memory"
    static let help = """
    Usage: octavo-infer bench --model DIR [--prompt-tokens 32] [--new-tokens 128] [--batch 1] [--threads T] [--runs 5] [--json]

    Loads the model, runs one warm-up, then --runs measured runs of: a prompt of
    --prompt-tokens tokens (prefill), then --new-tokens greedy tokens, one forward pass
    each, end-of-text ignored. With --batch B, B sequences decode together (one
    forward pass for all of them per step; tokens/s is their sum). Reports min / median /
    max over the runs; quote medians on a shared machine.

    Options:
      --model DIR          model folder
      --prompt-tokens N    prompt length (default 32)
      --new-tokens N       tokens to generate (default 128)
      --batch B            sequences decoded together (default 1)
      --threads T          compute threads (default: all cores)
      --dtype D            f32 (default), f16 or int8 matrices
      --runs N             measured runs after the warm-up (default 5)
      --json               one JSON object instead of a table

    Example:
      octavo-infer bench --model models/gpt2 --prompt-tokens 32 --new-tokens 128 --runs 5
    """
    static let spec = CommandLineArguments.Spec(
        options: ["model", "prompt-tokens", "new-tokens", "batch", "threads", "runs", "dtype"], flags: ["json"])

    static func run(_ arguments: CommandLineArguments) throws {
        let directory = try modelDirectory(arguments)
        let threads = try arguments.int("threads") ?? ProcessInfo.processInfo.activeProcessorCount
        guard threads >= 1 && threads <= 256 else { throw CLIError.usage("--threads must be between 1 and 256") }
        ComputePool.configure(threads: threads)
        let benchmark = GPT2Benchmark(
            promptTokens: try arguments.int("prompt-tokens") ?? 32, newTokens: try arguments.int("new-tokens") ?? 128,
            batch: try arguments.int("batch") ?? 1, runs: try arguments.int("runs") ?? 5)
        guard benchmark.batch >= 1 && benchmark.batch <= 256 else { throw CLIError.usage("--batch must be between 1 and 256") }
        guard benchmark.runs >= 1 && benchmark.runs <= 1000 else { throw CLIError.usage("--runs must be between 1 and 1000") }
        let report = try benchmark.run(directory: directory, threads: threads, precision: try GenerateCommand.precisionOption(arguments))
        if arguments.has("json") {
            try printJSON(report)
            return
        }
        print("model                \(report.model) (\(String(format: "%.0f", report.weights_mib)) MiB stored)")
        print("threads / batch      \(report.threads) / \(report.batch), \(report.dtype) matrices (\(String(format: "%.0f", report.loaded_weights_mib)) MiB loaded)")
        print("load                 \(String(format: "%.1f", report.load_ms)) ms")
        print("prefill \(report.prompt_tokens) tokens    \(report.prefill_ms.text) ms")
        print("time to first token  \(report.time_to_first_token_ms.text) ms")
        print("decode               \(report.decode_tokens_per_s.text) tokens/s over \(report.new_tokens) tokens")
        print("peak RSS             \(String(format: "%.0f", report.peak_rss_mib)) MiB")
    }
}
