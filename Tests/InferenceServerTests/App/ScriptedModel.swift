import Foundation
import Generation
import Tensor
import XCTest

@testable import InferenceServer
@testable import ServiceTestSupport

/// A language model that writes a fixed token script: whatever the prompt, the token after
/// position p is `script[p - promptLength]` with a logit far above the rest (so sampling at
/// any preset picks it), then EOS. Stories longer than the tiny GPT-2's 64 positions, with
/// known paragraphs.
final class ScriptedModel: CausalLanguageModel {
    let script: [Int]
    let eos: Int
    let vocabularySize: Int
    let maxPositions: Int
    /// Each forward pass sleeps this long (a model that takes time per token).
    let delay: TimeInterval
    private var promptLengths: [ObjectIdentifier: Int] = [:]
    private let lock = NSLock()
    private var passes = 0

    /// Forward passes so far (read from any thread).
    var forwardPasses: Int {
        lock.lock()
        defer { lock.unlock() }
        return passes
    }

    init(script: [Int], eos: Int, vocabularySize: Int, maxPositions: Int = 4096, delay: TimeInterval = 0) {
        self.script = script
        self.eos = eos
        self.vocabularySize = vocabularySize
        self.maxPositions = maxPositions
        self.delay = delay
    }

    func makeCache(capacity: Int) -> KVCache { KVCache(layers: 1, heads: 1, headDim: 1, capacity: capacity) }

    func forward(_ steps: [SequenceStep], logits: UnsafeMutablePointer<Float>) throws {
        if delay > 0 { Thread.sleep(forTimeInterval: delay) }
        lock.lock()
        passes += 1
        lock.unlock()
        for (row, step) in steps.enumerated() {
            let key = ObjectIdentifier(step.cache)
            if step.cache.length == 0 { promptLengths[key] = step.tokens.count }
            step.cache.advance(by: step.tokens.count)
            let written = step.cache.length - (promptLengths[key] ?? 0)
            let next = written < script.count ? script[written] : eos
            let out = logits + row * vocabularySize
            out.update(repeating: -30, count: vocabularySize)
            out[next] = 30
        }
    }
}

/// Story text for scripted models: `paragraphs` paragraphs of `wordsEach` words, each ending with
/// a period, written with the tiny GPT-2 tokenizer's ids.
enum StoryScript {
    static func text(paragraphs: Int, wordsEach: Int) -> String {
        (0..<paragraphs).map { paragraph in
            (0..<wordsEach).map { word in word == wordsEach - 1 ? "end\(paragraph)." : "w\(word % 7)" }
                .joined(separator: " ")
        }.joined(separator: " ")
    }
}

/// An app with the tiny GPT-2 ("tiny"), a scripted story model ("scripted") and the fake
/// translator, for the story route and the playground.
class StoryAppTestCase: AppTestCase {
    override func tearDown() {
        super.tearDown()
        if let path = jobsDatabase {
            for suffix in ["", "-wal", "-shm", ".lock"] { try? FileManager.default.removeItem(atPath: path + suffix) }
        }
    }

    var scripted: ScriptedModel!
    /// The paragraphs the scripted model writes after a prompt ending in "Story:".
    var expectedParagraphs: [String] = []

    /// The standard presets with room for the whole script.
    static let longPresets = StoryPresets(
        presets: StoryPresets.standard.presets.mapValues { preset in
            var long = preset
            long.maxLength = 2000
            return long
        }, fallback: "adult")

    /// The tiny GPT-2 ("tiny"), a scripted story model ("scripted": three 100-word paragraphs and
    /// a short tail) and, unless `translation` is false, the fake translator ("fake-nllb").
    /// Where the app's job store lives when `jobs` is on.
    var jobsDatabase: String?

    func startStoryApp(translation: Bool = true, delay: TimeInterval = 0, jobs: Bool = false) throws {
        if jobs { jobsDatabase = NSTemporaryDirectory() + "octavo-story-jobs-\(UUID().uuidString).sqlite" }
        let database = jobsDatabase
        try startApp(translation: translation, ready: false) { $0.jobsDatabasePath = database }
        let pipeline = try AppFixtures.freshPipeline()
        let story = StoryScript.text(paragraphs: 3, wordsEach: 100) + " and a tail"
        scripted = ScriptedModel(
            script: pipeline.tokenizer.encode(" " + story), eos: 512,
            vocabularySize: pipeline.model.vocabularySize, delay: delay)
        let model = scripted!
        try app.addGenerationModel { configuration, metrics in
            GenerationService(
                name: "scripted", model: model, tokenizer: pipeline.tokenizer, defaults: pipeline.defaultParameters(),
                bosTokenID: 512, storyPresets: Self.longPresets, configuration: configuration, metrics: metrics)
        }
        try app.markReady()
        expectedParagraphs = StoryFormatter.paragraphs(of: Substring(story))
        XCTAssertEqual(expectedParagraphs.count, 4)
    }

    /// What the fake translator makes of one paragraph, through the same sentence plan.
    func fakeTranslation(_ paragraph: String, to target: String) throws -> String {
        let plan = LegacyText.planTranslation(paragraph)
        return try plan.render(
            translations: plan.sourceSentences.map { FakeTranslationBackend.translate($0, to: target) })
    }
}
