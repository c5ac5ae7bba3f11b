import Foundation
import HTTPServer
import InferenceServer
import ModelFactory

/// `octavo-infer story`: a story for an audience, in any language, paragraph by paragraph.
enum StoryCommand: Command {
    static let name = "story"
    static let summary = "Write a story for an audience and translate it paragraph by paragraph (streams)"
    static let help = """
        Usage: octavo-infer story --model DIR [--translator DIR] --prompt TEXT [options]

        Writes a story with a GPT-2 story model using the audience's preset (the old story services'
        sampling, or the folder's story_presets.json), cuts it into the old services' paragraphs and,
        with --language, translates each paragraph with the NLLB model while the next is written.
        Paragraphs are printed as soon as they are ready, each after a "[Content]: " marker.

        Options:
          --model DIR                  the story model's folder
          --translator DIR             an NLLB-200 folder (needed for --language other than eng_Latn)
          --prompt TEXT                the prompt (--prompt-file FILE, or standard input)
          --audience NAME              children, young or adult (default adult), or the folder's own presets
          --language CODE              FLORES-200 code of the story's language (default eng_Latn)
          --seed S                     same seed, same story
          --max-new-tokens N           new tokens at most (default: the preset's max_length, prompt included)
          --threads N                  compute threads (default: all cores)
          --json                       print one JSON object at the end instead: paragraphs, content,
                                       original_content, usage, timings

        Example:
          octavo-infer story --model models/story-medium --translator models/nllb-600m \\
              --prompt "### Prompt: Write a short story about a dragon.\\n### Story:" --audience children --language spa_Latn
        """
    static let spec = CommandLineArguments.Spec(
        options: [
            "model", "translator", "prompt", "prompt-file", "audience", "language", "seed", "max-new-tokens", "threads",
        ],
        flags: ["json"])

    struct Output: Encodable {
        struct Paragraph: Encodable {
            let index: Int
            let text: String
            let translation: String?
        }
        let paragraphs: [Paragraph]
        let content: String
        let original_content: String
        let finish_reason: String
        let seed: UInt64
        let prompt_tokens: Int
        let generated_tokens: Int
        let generation_ms: Double
        let translation_ms: Double
        let total_ms: Double
    }

    static func run(_ arguments: CommandLineArguments) throws {
        let directory = try modelDirectory(arguments)
        let prompt = try readInputText(arguments, textOption: "prompt", fileOption: "prompt-file")
        try GenerateCommand.applyThreads(arguments)
        var options = StoryTeller.Options(
            prompt: prompt, audience: arguments.string("audience"),
            language: arguments.string("language"), maxNewTokens: try arguments.int("max-new-tokens"))
        if let text = arguments.string("seed") {
            guard let seed = UInt64(text) else {
                throw CLIError.usage("--seed expects a non-negative integer, got '\(text)'")
            }
            options.seed = seed
        }
        let json = arguments.has("json")

        let pipeline = try ModelFolder.loadCausal(directory)
        let story = GenerationService(
            name: directory.lastPathComponent, pipeline: pipeline,
            storyPresets: try StoryPresets.forModelFolder(directory),
            configuration: .init(maxBatch: 1), metrics: nil)
        var translator: TranslationService?
        if let path = arguments.string("translator") {
            let folder = try ModelResolver(arguments).resolve(path)
            let backend = try ServeModelLoader.translationBackend(directory: folder)
            translator = TranslationService(
                name: folder.lastPathComponent, backend: backend, configuration: .init(), metrics: nil)
        }
        defer {
            story.executor.shutdown(gracePeriod: 0)
            translator?.executor.shutdown(gracePeriod: 0)
        }

        let outcome: StoryOutcome
        do {
            outcome = try StoryTeller.tell(options, service: story, translator: translator) { paragraph in
                if !json {
                    writeStdout(
                        (paragraph.index == 0 ? "" : "\n\n") + StoryFormatter.contentPrefix
                            + (paragraph.translation ?? paragraph.text))
                }
                return true
            }
        } catch let error as HTTPError {
            throw CLIError.usage(error.message)
        }
        if json {
            try printJSON(
                Output(
                    paragraphs: outcome.paragraphs.map {
                        .init(index: $0.index, text: $0.text, translation: $0.translation)
                    },
                    content: outcome.content, original_content: outcome.originalContent,
                    finish_reason: outcome.finishReason,
                    seed: outcome.seed, prompt_tokens: outcome.promptTokens, generated_tokens: outcome.generatedTokens,
                    generation_ms: outcome.generationMilliseconds, translation_ms: outcome.translationMilliseconds,
                    total_ms: outcome.totalMilliseconds))
        } else {
            writeStdout("\n")
        }
    }
}
