import Foundation
import Generation
import ModelFactory
import NLLB
import Tensor
import Tokenizer

/// `octavo-infer translate`: text from one FLORES-200 language to another with an NLLB folder.
enum TranslateCommand: Command {
    static let name = "translate"
    static let summary = "Translate text with an NLLB-200 / M2M100 model (202 FLORES-200 languages)"
    static let help = """
        Usage: octavo-infer translate --model DIR --source CODE --target CODE [--text TEXT | --file FILE | stdin] [options]

        Cuts the text into sentences (punctuation kept), translates them all as one batch
        and puts them back in the original paragraphs. Defaults come from the folder's
        generation_config.json (NLLB-200: greedy, max_length 200). A sentence longer than
        the model's positions is cut at its best boundary first, never truncated.
        Language codes are FLORES-200's (eng_Latn, spa_Latn, fra_Latn...; see `languages`).

        Options:
          --model DIR             model folder (config.json, model.safetensors, sentencepiece.bpe.model or tokenizer.json)
          --source CODE           language of the text (default eng_Latn)
          --target CODE           language to translate into
          --text TEXT             the text (or --file FILE, or standard input)
          --beams N               beam search with N beams (default: generation_config.json's, else greedy)
          --max-new-tokens N      tokens per sentence at most
          --length-penalty X      beam search length penalty (default 1.0)
          --repetition-penalty R  transformers' repetition penalty
          --no-repeat-ngram-size N
          --dtype f32|f16|int8|q4 keep the matrices in this precision (default f32)
          --kv-cache f32|f16      keep the attention caches in this precision (default f32)
          --vocabulary-map FILE   CTranslate2 vocabulary map (vmap.txt): only the target tokens it allows
                                  for the source sentences can appear, and only they are scored (faster)
          --threads N             compute threads (default: all cores)
          --draft D               exact speculative greedy decoding (the same ids): int8 or f16 (the folder
                                  again at that precision), ngram (guesses from the source and the
                                  translation so far) or ngram+int8 / ngram+f16
          --draft-tokens K        tokens the draft proposes per round at first (default 4, adaptive, at most 7)
          --json                  one JSON object: text, output_ids, timings (and sentences when several)

        Example:
          octavo-infer translate --model models/nllb-600m --source eng_Latn --target spa_Latn --text "Once upon a time."
        """
    static let spec = CommandLineArguments.Spec(
        options: [
            "model", "source", "target", "text", "file", "beams", "max-new-tokens", "length-penalty",
            "repetition-penalty",
            "no-repeat-ngram-size", "dtype", "kv-cache", "threads", "vocabulary-map", "draft", "draft-tokens",
        ],
        flags: ["json"])

    struct Output: Encodable {
        let text: String
        let output_ids: OutputIDs
        let sentences: [SentenceOutput]?
        let timings: Timings
        /// With --draft: what the draft proposed and the model kept.
        var speculative: GenerateCommand.Output.Speculative?

        /// One sentence: exactly generate()'s ids. Several: one row per sentence, as generate() returns a batch.
        enum OutputIDs: Encodable {
            case single([Int])
            case batch([[Int]])
            func encode(to encoder: Encoder) throws {
                var container = encoder.singleValueContainer()
                switch self {
                case .single(let ids): try container.encode(ids)
                case .batch(let rows): try container.encode(rows)
                }
            }
        }
        struct SentenceOutput: Encodable {
            let source: String
            let text: String
            let output_ids: [Int]
        }
        struct Timings: Encodable {
            let load_ms: Double
            let tokenize_ms: Double
            let encode_ms: Double
            let decode_ms: Double
            let source_tokens: Int
            let target_tokens: Int
            let target_tokens_per_s: Double
            /// Tokens the output layer scored, with --vocabulary-map.
            let output_vocabulary: Int?
        }
    }

    static func run(_ arguments: CommandLineArguments) throws {
        let directory = try modelDirectory(arguments)
        let text = try readInputText(arguments, textOption: "text", fileOption: "file")
        try GenerateCommand.applyThreads(arguments)
        var options = NLLBPipeline.Options(
            source: arguments.string("source") ?? "eng_Latn", target: try arguments.required("target"))
        options.beams = try arguments.int("beams")
        options.maxNewTokens = try arguments.int("max-new-tokens")
        options.lengthPenalty = try arguments.float("length-penalty")
        options.repetitionPenalty = try arguments.float("repetition-penalty")
        options.noRepeatNgramSize = try arguments.int("no-repeat-ngram-size")
        if let beams = options.beams, beams < 1 { throw CLIError.usage("--beams must be at least 1") }
        let pipeline = try ModelFolder.loadTranslation(
            directory,
            options: ModelLoadOptions(
                precision: try GenerateCommand.precisionOption(arguments),
                cachePrecision: try GenerateCommand.cachePrecisionOption(arguments),
                vocabularyMap: arguments.string("vocabulary-map").map { URL(fileURLWithPath: $0) }))
        let draft = try translationDraft(arguments, directory: directory)
        let speculative = try draft.map {
            try Seq2SeqSpeculativeDecoder(model: pipeline.translator.model, draft: $0.draft, draftTokens: $0.tokens)
        }
        let result: NLLBPipeline.Result
        do {
            result = try pipeline.translate([text], options: options, speculative: speculative)
        } catch let error as NLLBTokenizerError {
            throw CLIError.usage(error.description)
        } catch let error as GenerationError {
            throw CLIError.usage(error.description)
        }
        let translation = result.translations[0]
        guard arguments.has("json") else {
            print(translation.text)
            return
        }
        var speculativeReport: GenerateCommand.Output.Speculative?
        if let draft, let s = result.speculative {
            speculativeReport = .init(
                draft: draft.label, draft_tokens: draft.tokens, rounds: s.rounds, proposed_tokens: s.proposedTokens,
                accepted_tokens: s.acceptedTokens, acceptance_rate: s.acceptanceRate)
        }
        let t = result.timings
        let seconds = (t.encodeMs + t.decodeMs) / 1000
        let sentences = translation.sentences
        try printJSON(
            Output(
                text: translation.text,
                output_ids: sentences.count == 1 ? .single(sentences[0].outputIDs) : .batch(sentences.map(\.outputIDs)),
                sentences: sentences.count > 1
                    ? sentences.map { .init(source: $0.source, text: $0.text, output_ids: $0.outputIDs) } : nil,
                timings: .init(
                    load_ms: pipeline.loadMilliseconds, tokenize_ms: result.tokenizeMs, encode_ms: t.encodeMs,
                    decode_ms: t.decodeMs,
                    source_tokens: t.sourceTokens, target_tokens: t.targetTokens,
                    target_tokens_per_s: seconds > 0 ? Double(t.targetTokens) / seconds : 0,
                    output_vocabulary: result.outputVocabularySize),
                speculative: speculativeReport))
    }

    /// `--draft int8|f16|ngram|ngram+int8|ngram+f16` for a translation model.
    static func translationDraft(_ arguments: CommandLineArguments, directory: URL) throws -> (
        label: String, draft: SpeculativeDraft, tokens: Int
    )? {
        guard let request = try DraftRequest.parse(arguments, translation: true),
            let makeDraft = try request.loadTranslation(target: directory)
        else { return nil }
        return (request.label, makeDraft(), request.draftTokens)
    }
}

/// `octavo-infer languages`: the FLORES-200 codes NLLB-200 translates between.
enum LanguagesCommand: Command {
    static let name = "languages"
    static let summary = "List the FLORES-200 language codes with their names"
    static let help = """
        Usage: octavo-infer languages [--model DIR] [--json]

        Lists the 202 FLORES-200 codes NLLB-200 knows, with their English names. With --model,
        lists the codes of that folder's tokenizer, with their token ids.

        Example:
          octavo-infer languages --model models/nllb-600m --json
        """
    static let spec = CommandLineArguments.Spec(options: ["model"], flags: ["json"])

    struct Entry: Encodable {
        let code: String
        let name: String
        let token_id: Int?
    }

    static func run(_ arguments: CommandLineArguments) throws {
        var entries = FloresLanguages.all.map { Entry(code: $0.code, name: $0.name, token_id: nil) }
        if arguments.string("model") != nil {
            let tokenizer = try NLLBTokenizer(folder: try modelDirectory(arguments))
            entries = try tokenizer.languageCodes.map {
                Entry(code: $0, name: FloresLanguages.name(of: $0) ?? "", token_id: try tokenizer.languageTokenID($0))
            }
        }
        if arguments.has("json") {
            try printJSON(["languages": entries])
        } else {
            for entry in entries {
                print(
                    entry.code.padding(toLength: 10, withPad: " ", startingAt: 0) + " " + entry.name
                        + (entry.token_id.map { "  (\($0))" } ?? ""))
            }
        }
    }
}
