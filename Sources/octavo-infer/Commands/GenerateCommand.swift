import Foundation
import Generation
import Kernels
import ModelFactory
import Tensor

/// `octavo-infer generate`: text from a GPT-2 folder, streamed or as one JSON object.
enum GenerateCommand: Command {
    static let name = "generate"
    static let summary = "Continue a prompt with a GPT-2 model (streams text, or --json)"
    static let help = """
        Usage: octavo-infer generate -m DIR [-p TEXT | --prompt-file FILE | stdin] [options]

        Continues the prompt with a Hugging Face GPT-2 folder (gpt2, gpt2-medium, distilgpt2,
        gpt2-large/xl or a fine-tune). Defaults come from the folder's generation_config.json,
        then transformers' defaults. Giving any sampling option turns sampling on unless --greedy.

        Options:
          -m, --model DIR              model folder (config.json, model.safetensors, tokenizer files)
          -p, --prompt TEXT            the prompt
          --prompt-file FILE           read the prompt from a file (standard input if neither is given;
                                       standard input loses its final newline)
          --max-new-tokens N           new tokens at most
          --max-length N               prompt plus new tokens at most (transformers' max_length)
          --greedy                     always take the most likely token
          --sample                     sample even if generation_config.json says greedy
          --temperature T              divide logits by T (0 means greedy)
          --top-k K                    keep the K most likely tokens (0 disables)
          --top-p P                    keep the smallest set with probability mass > P
          --min-p P                    drop tokens less likely than P times the most likely
          --repetition-penalty R       transformers' penalty on tokens already present (1 disables)
          --presence-penalty P         OpenAI's penalty on tokens generated at least once
          --frequency-penalty P        OpenAI's penalty per earlier occurrence
          --no-repeat-ngram-size N     never repeat an N-gram
          --seed S                     same seed, same output
          --stop TEXT                  stop when the text contains TEXT (repeatable); TEXT is not printed;
                                       \\n, \\t, \\r and \\\\ stand for newline, tab, return, backslash
          --ignore-eos                 keep going past the end-of-text token
          --context-overflow MODE      error (default) or keep-recent: keep only the most recent tokens
          --threads N                  compute threads (default: all cores)
          --dtype f32|f16|int8         keep the matrices in this precision (default f32: as stored)
          --kv-cache f32|f16           keep the attention cache in this precision (default f32;
                                       f16 halves its memory and what batched decode reads)
        \(DraftOption.help)
          --json                       print one JSON object: text, prompt_ids, generated_ids,
                                       finish_reason, stop, seed, timings (and speculative with --draft)

        Example:
          octavo-infer generate --model models/gpt2 --prompt "Once upon a time" --max-new-tokens 40 --seed 1
        """
    static let spec = CommandLineArguments.Spec(
        options: ([
            "model", "prompt", "prompt-file", "max-new-tokens", "max-length", "temperature", "top-k", "top-p", "min-p",
            "repetition-penalty", "presence-penalty", "frequency-penalty", "no-repeat-ngram-size", "seed",
            "context-overflow", "threads", "dtype", "kv-cache",
        ] as Set<String>).union(DraftOption.options),
        repeatable: ["stop"],
        flags: ["greedy", "sample", "json", "ignore-eos"])

    struct Output: Encodable {
        let text: String
        let prompt_ids: [Int]
        let generated_ids: [Int]
        let finish_reason: String
        let stop: String?
        let seed: UInt64
        let timings: Timings
        /// With --draft: what the draft proposed and the target kept.
        var speculative: Speculative?

        struct Speculative: Encodable {
            let draft: String
            let draft_tokens: Int
            let rounds: Int
            let proposed_tokens: Int
            let accepted_tokens: Int
            let acceptance_rate: Double
        }

        struct Timings: Encodable {
            let load_ms: Double
            let prefill_ms: Double
            let decode_ms: Double
            let prompt_tokens: Int
            let generated_tokens: Int
            let decode_tokens_per_s: Double
        }
    }

    static func run(_ arguments: CommandLineArguments) throws {
        let directory = try modelDirectory(arguments)
        let prompt = try readInputText(arguments, textOption: "prompt", fileOption: "prompt-file")
        try applyThreads(arguments)
        let pipeline = try ModelFolder.loadCausal(
            directory,
            options: ModelLoadOptions(
                precision: try precisionOption(arguments), cachePrecision: try cachePrecisionOption(arguments)))
        let parameters = try samplingParameters(arguments, defaults: pipeline.defaultParameters())
        let json = arguments.has("json")
        let draft = try DraftOption.parse(arguments, target: directory)

        let onStep: (GenerationStep) -> Bool = { step in
            if !json { writeStdout(step.text) }
            return true
        }
        let result: GenerationResult
        var speculative: Output.Speculative?
        if let draft {
            let decoder = try draft.decoder(target: pipeline.languageModel, tokenizer: pipeline.textTokenizer)
            let run = try decoder.generate(
                promptIDs: pipeline.encode(prompt: prompt), parameters: parameters, onStep: onStep)
            result = run.generation
            let s = run.statistics
            speculative = .init(
                draft: draft.label, draft_tokens: draft.draftTokens, rounds: s.rounds,
                proposed_tokens: s.proposedTokens,
                accepted_tokens: s.acceptedTokens, acceptance_rate: s.acceptanceRate)
        } else {
            result = try pipeline.generate(prompt: prompt, parameters: parameters, onStep: onStep)
        }
        if json {
            let t = result.timings
            try printJSON(
                Output(
                    text: result.text, prompt_ids: result.promptIDs, generated_ids: result.generatedIDs,
                    finish_reason: result.finishReason.rawValue, stop: result.stopString, seed: result.seed,
                    timings: .init(
                        load_ms: pipeline.loadMilliseconds, prefill_ms: t.prefillMs, decode_ms: t.decodeMs,
                        prompt_tokens: t.promptTokens, generated_tokens: t.generatedTokens,
                        decode_tokens_per_s: t.decodeTokensPerSecond),
                    speculative: speculative))
        } else {
            writeStdout("\n")
        }
    }

    /// The folder's defaults overlaid with the command line.
    static func samplingParameters(_ arguments: CommandLineArguments, defaults: GenerationParameters) throws
        -> GenerationParameters
    {
        var p = defaults
        if let n = try arguments.int("max-new-tokens") {
            p.maxNewTokens = n
            p.maxLength = nil
        }
        if let n = try arguments.int("max-length") {
            guard arguments.string("max-new-tokens") == nil else {
                throw CLIError.usage("give --max-new-tokens or --max-length, not both")
            }
            p.maxLength = n
            p.maxNewTokens = nil
        }
        if p.maxNewTokens == nil && p.maxLength == nil { p.maxNewTokens = 128 }
        let samplingOptions = ["temperature", "top-k", "top-p", "min-p", "seed"]
        if arguments.has("greedy") && arguments.has("sample") {
            throw CLIError.usage("give --greedy or --sample, not both")
        }
        if arguments.has("greedy") {
            p.doSample = false
        } else if arguments.has("sample") || samplingOptions.contains(where: { arguments.string($0) != nil }) {
            p.doSample = true
        }
        if let v = try arguments.float("temperature") { p.temperature = v }
        if let v = try arguments.int("top-k") { p.topK = v }
        if let v = try arguments.float("top-p") { p.topP = v }
        if let v = try arguments.float("min-p") { p.minP = v }
        if let v = try arguments.float("repetition-penalty") { p.repetitionPenalty = v }
        if let v = try arguments.float("presence-penalty") { p.presencePenalty = v }
        if let v = try arguments.float("frequency-penalty") { p.frequencyPenalty = v }
        if let v = try arguments.int("no-repeat-ngram-size") { p.noRepeatNgramSize = v }
        if let text = arguments.string("seed") {
            guard let seed = UInt64(text) else {
                throw CLIError.usage("--seed expects a non-negative integer, got '\(text)'")
            }
            p.seed = seed
        }
        p.stopStrings = arguments.strings("stop").map(unescapeCommandLineText)
        if arguments.has("ignore-eos") { p.eosTokenIDs = [] }
        if let mode = arguments.string("context-overflow") {
            guard let policy = ContextOverflowPolicy(rawValue: mode) else {
                throw CLIError.usage("--context-overflow expects 'error' or 'keep-recent', got '\(mode)'")
            }
            p.contextOverflow = policy
        }
        do { try p.validate() } catch { throw CLIError.usage("\(error)") }
        return p
    }

    static func precisionOption(_ arguments: CommandLineArguments) throws -> WeightPrecision {
        guard let text = arguments.string("dtype") else { return .f32 }
        guard let precision = WeightPrecision(rawValue: text) else {
            throw CLIError.usage("--dtype expects f32, f16 or int8, got '\(text)'")
        }
        return precision
    }

    static func cachePrecisionOption(_ arguments: CommandLineArguments) throws -> KVCachePrecision {
        guard let text = arguments.string("kv-cache") else { return .f32 }
        guard let precision = KVCachePrecision(rawValue: text) else {
            throw CLIError.usage("--kv-cache expects f32 or f16, got '\(text)'")
        }
        return precision
    }

    static func applyThreads(_ arguments: CommandLineArguments) throws {
        if let threads = try arguments.int("threads") {
            guard threads >= 1 && threads <= 256 else { throw CLIError.usage("--threads must be between 1 and 256") }
            ComputePool.configure(threads: threads)
        }
    }
}
