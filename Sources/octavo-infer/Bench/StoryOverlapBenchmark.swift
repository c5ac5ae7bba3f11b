import Foundation
import GPT2
import Generation
import InferenceServer
import Tensor

/// Time to the first translated paragraph and to the whole translated story, two ways: the way
/// `/v1/stories` does it (each paragraph translated while the next is written) and the old
/// platform's (generate the story, then translate it).
///
/// A random-weight checkpoint writes noise without paragraphs, so the story model is made to
/// write a given English text: every token still costs a full forward pass of the real-shape
/// model, whose logits are then replaced by the text's next token. The translator translates the
/// real paragraphs, each sentence for `translationTokens` target tokens (a random model seldom
/// stops by itself).
struct StoryOverlapBenchmark {
    let storyText: String
    let language: String
    let translationTokens: Int
    let runs: Int

    struct Timing: Encodable {
        let first_paragraph_ms: Summary
        let total_ms: Summary
    }

    struct Report: Encodable {
        let model: String
        let translator: String
        let threads: Int
        let paragraphs: Int
        let story_tokens: Int
        let translation_tokens_per_sentence: Int
        let runs: Int
        let overlapped: Timing
        let sequential: Timing
        /// Medians of the per-run ratios sequential / overlapped.
        let first_paragraph_speedup: Double
        let total_speedup: Double
    }

    func run(model: URL, translator: URL, threads: Int) throws -> Report {
        let pipeline = try GPT2Pipeline(directory: model)
        let prompt = "### Prompt: Write a short story.\n### Story:"
        let script = pipeline.tokenizer.encode(" " + storyText)
        let forced = ForcedScriptModel(
            pipeline.model, script: script, promptLength: pipeline.tokenizer.encode(prompt).count,
            end: pipeline.defaultParameters().eosTokenIDs.first ?? 50256)
        let story = GenerationService(
            name: model.lastPathComponent, model: forced, tokenizer: pipeline.tokenizer,
            defaults: pipeline.defaultParameters(), bosTokenID: nil,
            configuration: .init(maxBatch: 1), metrics: nil)
        let backend = try ServeModelLoader.translationBackend(directory: translator)
        let nllb = TranslationService(
            name: translator.lastPathComponent, backend: backend, configuration: .init(), metrics: nil)
        defer {
            story.executor.shutdown(gracePeriod: 0)
            nllb.executor.shutdown(gracePeriod: 0)
        }
        var options = StoryTeller.Options(prompt: prompt, maxNewTokens: script.count + 1)
        options.translationMaxNewTokens = translationTokens

        var overlappedFirst: [Double] = []
        var overlappedTotal: [Double] = []
        var sequentialFirst: [Double] = []
        var sequentialTotal: [Double] = []
        var paragraphs = 0
        for round in 0...runs {  // round 0 warms up
            var measured: [(first: Double, total: Double, paragraphs: Int)] = []
            for overlapped in round % 2 == 0 ? [true, false] : [false, true] {
                measured.append(
                    overlapped
                        ? try tellOverlapped(options, story: story, translator: nllb)
                        : try tellSequentially(options, story: story, translator: nllb))
                if overlapped {
                    overlappedFirst.append(measured.last!.first)
                    overlappedTotal.append(measured.last!.total)
                } else {
                    sequentialFirst.append(measured.last!.first)
                    sequentialTotal.append(measured.last!.total)
                }
            }
            paragraphs = measured[0].paragraphs
            if round == 0 {
                overlappedFirst.removeAll()
                overlappedTotal.removeAll()
                sequentialFirst.removeAll()
                sequentialTotal.removeAll()
            }
        }
        func medianRatio(_ a: [Double], _ b: [Double]) -> Double { Summary(zip(a, b).map { $0 / $1 }).median }
        return Report(
            model: model.lastPathComponent, translator: translator.lastPathComponent, threads: threads,
            paragraphs: paragraphs,
            story_tokens: script.count, translation_tokens_per_sentence: translationTokens, runs: runs,
            overlapped: Timing(first_paragraph_ms: Summary(overlappedFirst), total_ms: Summary(overlappedTotal)),
            sequential: Timing(first_paragraph_ms: Summary(sequentialFirst), total_ms: Summary(sequentialTotal)),
            first_paragraph_speedup: medianRatio(sequentialFirst, overlappedFirst),
            total_speedup: medianRatio(sequentialTotal, overlappedTotal))
    }

    private func tellOverlapped(
        _ options: StoryTeller.Options, story: GenerationService,
        translator: TranslationService
    ) throws -> (first: Double, total: Double, paragraphs: Int) {
        var options = options
        options.language = language
        let start = DispatchTime.now()
        var first: Double?
        let outcome = try StoryTeller.tell(options, service: story, translator: translator) { _ in
            if first == nil { first = elapsedMilliseconds(since: start) }
            return true
        }
        return (first ?? 0, elapsedMilliseconds(since: start), outcome.paragraphs.count)
    }

    private func tellSequentially(
        _ options: StoryTeller.Options, story: GenerationService,
        translator: TranslationService
    ) throws -> (first: Double, total: Double, paragraphs: Int) {
        let start = DispatchTime.now()
        let outcome = try StoryTeller.tell(options, service: story, translator: nil) { _ in true }
        var first: Double?
        for paragraph in outcome.paragraphs {
            _ = try StoryTeller.translate(
                paragraph: paragraph.text, to: language, on: translator, maxNewTokens: translationTokens)
            if first == nil { first = elapsedMilliseconds(since: start) }
        }
        return (first ?? 0, elapsedMilliseconds(since: start), outcome.paragraphs.count)
    }
}

/// A real model made to write a given text: each forward pass runs in full, then every row's
/// logits become the script's next token (after it, `end`).
final class ForcedScriptModel: CausalLanguageModel {
    private let inner: CausalLanguageModel
    private let script: [Int]
    private let promptLength: Int
    private let end: Int

    init(_ inner: CausalLanguageModel, script: [Int], promptLength: Int, end: Int) {
        self.inner = inner
        self.script = script
        self.promptLength = promptLength
        self.end = end
    }

    var vocabularySize: Int { inner.vocabularySize }
    var maxPositions: Int { inner.maxPositions }
    func makeCache(capacity: Int) -> KVCache { inner.makeCache(capacity: capacity) }

    func forward(_ steps: [SequenceStep], logits: UnsafeMutablePointer<Float>) throws {
        let written = steps.map { $0.cache.length + $0.tokens.count - promptLength }
        try inner.forward(steps, logits: logits)
        for (row, count) in written.enumerated() {
            let next = (0..<script.count).contains(count) ? script[count] : end
            let out = logits + row * vocabularySize
            out.update(repeating: -30, count: vocabularySize)
            out[next] = 30
        }
    }
}
