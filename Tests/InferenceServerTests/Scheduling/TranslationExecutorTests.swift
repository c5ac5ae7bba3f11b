import Foundation
import Generation
import NLLB
import XCTest

@testable import InferenceServer
@testable import ServiceTestSupport

/// Translation runs on executor slots, one sentence each: requests join the running batch
/// at the next decoder step, a cancelled request stops its own sentences only, and a
/// sentence's output does not depend on the sentences it ran with.
final class TranslationExecutorTests: XCTestCase {
    func service(_ backend: TranslationBackend, maxBatch: Int = 8, draft: GenerationDraft? = nil)
        -> TranslationService
    {
        TranslationService(
            name: "fake", backend: backend, configuration: .init(maxBatch: maxBatch, maxQueue: 8),
            metrics: nil, draft: draft)
    }

    static let tinyNLLB = AppFixtures.root.appendingPathComponent("NLLB/tiny")

    /// The drafts `serve --draft` gives a translation model: n-grams, its int8 copy, both.
    static func drafts() throws -> [GenerationDraft] {
        let int8 = try M2M100Model(directory: tinyNLLB, precision: .int8)
        return [
            GenerationDraft(label: "ngram", draftTokens: 3) { NGramDraft() },
            GenerationDraft(label: "int8", draftTokens: 2) { Seq2SeqModelDraft(model: int8) },
            GenerationDraft(label: "ngram+int8", draftTokens: 4) {
                FallbackDraft(first: NGramDraft(), second: Seq2SeqModelDraft(model: int8))
            },
        ]
    }

    func testARequestJoinsTheRunningBatchAtTheNextStep() throws {
        let backend = FakeTranslationBackend()
        let fake = try XCTUnwrap(backend.model as? CharacterSpellingModel)
        backend.gate = DispatchSemaphore(value: 0)
        let translator = service(backend)
        defer { translator.executor.shutdown(gracePeriod: 1) }
        let long = "one two three four five six seven eight nine ten"
        let first = try TranslationCall(
            TranslationRequest(texts: [long], source: "eng_Latn", target: "spa_Latn"),
            on: translator, timeout: nil)
        XCTAssertTrue(waitUntil { fake.stepsStarted == 1 })
        backend.gate?.signal()
        XCTAssertTrue(waitUntil { fake.stepsStarted == 2 })  // the first sentence is running
        let second = try TranslationCall(
            TranslationRequest(texts: ["a b"], source: "eng_Latn", target: "fra_Latn"),
            on: translator, timeout: nil)
        for _ in 0..<200 { backend.gate?.signal() }
        XCTAssertEqual(try second.wait(timeout: 10)?.get().texts, ["<fra_Latn> b a"])
        XCTAssertEqual(
            try first.wait(timeout: 10)?.get().texts, [FakeTranslationBackend.translate(long, to: "spa_Latn")])
        let statistics = translator.executor.statistics
        XCTAssertEqual(statistics.largestBatch, 2, "the second request must share steps with the first")
        XCTAssertEqual(statistics.completed, 2)
    }

    func testCancellingOneClientStopsItsSentencesOnly() throws {
        let backend = FakeTranslationBackend()
        let fake = try XCTUnwrap(backend.model as? CharacterSpellingModel)
        backend.gate = DispatchSemaphore(value: 0)
        let translator = service(backend)
        defer { translator.executor.shutdown(gracePeriod: 1) }
        let text = "the quick brown fox jumps over the lazy dog"
        let leaving = try TranslationCall(
            TranslationRequest(texts: [text, text], source: "eng_Latn", target: "spa_Latn"),
            on: translator, timeout: nil)
        let staying = try TranslationCall(
            TranslationRequest(texts: [text], source: "eng_Latn", target: "deu_Latn"),
            on: translator, timeout: nil)
        XCTAssertTrue(waitUntil { fake.stepsStarted == 1 })
        for _ in 0..<3 { backend.gate?.signal() }
        XCTAssertTrue(waitUntil { fake.stepsStarted == 4 })  // three steps done, the fourth held
        leaving.cancel()
        for _ in 0..<200 { backend.gate?.signal() }
        XCTAssertEqual(
            try staying.wait(timeout: 10)?.get().texts, [FakeTranslationBackend.translate(text, to: "deu_Latn")])
        let cut = try XCTUnwrap(try leaving.wait(timeout: 10)?.get().texts)
        let full = FakeTranslationBackend.translate(text, to: "spa_Latn")
        for partial in cut {
            XCTAssertTrue(full.hasPrefix(partial) && partial.count < full.count, "'\(partial)' is not cut short")
        }
        let statistics = translator.executor.statistics
        XCTAssertEqual(statistics.cancelled, 2)
        XCTAssertEqual(statistics.completed, 1)
    }

    func testAModelFailureFailsTheRunningSentencesAndTheNextRequestWorks() throws {
        let backend = FakeTranslationBackend()
        let translator = service(backend)
        defer { translator.executor.shutdown(gracePeriod: 1) }
        backend.failWith = FakeBackendFailure()
        let failed = try TranslationCall(
            TranslationRequest(texts: ["a"], source: "eng_Latn", target: "spa_Latn"),
            on: translator, timeout: nil)
        XCTAssertThrowsError(try failed.wait(timeout: 10)?.get()) { error in
            XCTAssertTrue(String(describing: error).contains("failed on purpose"), "\(error)")
        }
        backend.failWith = nil
        let ok = try TranslationCall(
            TranslationRequest(texts: ["a"], source: "eng_Latn", target: "spa_Latn"),
            on: translator, timeout: nil)
        XCTAssertEqual(try ok.wait(timeout: 10)?.get().texts, ["<spa_Latn> a"])
    }

    /// Requests of the tiny NLLB arrive one by one while others run (greedy and beam search
    /// mixed, more sentences than slots): each sentence's ids are the ones it gets alone.
    func testStaggeredArrivalsGiveWhatEachSentenceGivesAlone() throws {
        try staggeredArrivals(draft: nil)
    }

    /// The same with each draft: greedy sentences guess several rows per step beside beam
    /// searches and still give the ids they give alone without a draft.
    func testStaggeredArrivalsWithADraftGiveWhatEachSentenceGivesAlone() throws {
        for draft in try Self.drafts() { try staggeredArrivals(draft: draft) }
    }

    /// A draft the model agrees with saves decoder steps: the same greedy request takes fewer
    /// forward passes with each draft, for the same text.
    func testADraftSavesDecoderSteps() throws {
        let backend = NLLBTranslationBackend(pipeline: try NLLBPipeline(directory: Self.tinyNLLB))
        let request = TranslationRequest(
            texts: ["Hello there, my friend. It is 12 o'clock.", "The 12 cats of Paris."], source: "eng_Latn",
            target: "fra_Latn", maxNewTokens: 24)
        func run(_ draft: GenerationDraft?) throws -> (texts: [String]?, passes: Int) {
            let translator = service(backend, draft: draft)
            defer { translator.executor.shutdown(gracePeriod: 1) }
            let texts = try TranslationCall(request, on: translator, timeout: nil).wait(timeout: 60)?.get().texts
            return (texts, translator.executor.statistics.forwardPasses)
        }
        let plain = try run(nil)
        XCTAssertNotNil(plain.texts)
        for draft in try Self.drafts() {
            let drafted = try run(draft)
            XCTAssertEqual(drafted.texts, plain.texts, draft.label)
            XCTAssertLessThan(drafted.passes, plain.passes, "\(draft.label) saved no decoder step")
        }
    }

    private func staggeredArrivals(draft: GenerationDraft?) throws {
        let pipeline = try NLLBPipeline(directory: Self.tinyNLLB)
        let backend = NLLBTranslationBackend(pipeline: pipeline)
        struct Case: Decodable {
            let text: String
            let target: String
        }
        struct File: Decodable { let text_cases: [Case] }
        let cases = try JSONDecoder().decode(
            File.self,
            from: Data(
                contentsOf: AppFixtures.root
                    .appendingPathComponent("NLLB/tiny.reference.json"))
        ).text_cases
        let requests = (0..<6).map { i -> TranslationRequest in
            let texts = (0..<(1 + i % 3)).map { cases[(i + $0) % cases.count].text }
            return TranslationRequest(
                texts: texts, source: "eng_Latn", target: cases[i % cases.count].target,
                beams: i % 2 == 0 ? nil : 3, maxNewTokens: 12)
        }
        // Alone first: the pipeline's own batch of one text at a time.
        let alone = try requests.map { request in
            try request.texts.map { text in
                var options = NLLBPipeline.Options(
                    source: request.source, target: request.target, beams: request.beams,
                    maxNewTokens: request.maxNewTokens)
                options.beams = request.beams
                return try pipeline.translate([text], options: options).translations[0].text
            }
        }
        let translator = service(backend, maxBatch: 3, draft: draft)
        defer { translator.executor.shutdown(gracePeriod: 1) }
        var calls: [TranslationCall] = []
        for request in requests {
            let passes = translator.executor.statistics.forwardPasses
            calls.append(try TranslationCall(request, on: translator, timeout: nil))
            // The next one arrives a few decoder steps later (or once everything so far is done).
            _ = waitUntil(timeout: 5) { translator.executor.statistics.forwardPasses >= passes + 2 }
        }
        for (i, call) in calls.enumerated() {
            XCTAssertEqual(
                try call.wait(timeout: 60)?.get().texts, alone[i], "request \(i), draft \(draft?.label ?? "none")")
        }
        XCTAssertGreaterThan(translator.executor.statistics.largestBatch, 1, "sentences must have shared steps")
    }

    func testUnknownLanguagesAreRefusedWithASuggestion() {
        let backend = FakeTranslationBackend()
        XCTAssertNoThrow(try backend.validateLanguage("spa_Latn", field: "target"))
        XCTAssertThrowsError(try backend.validateLanguage("SPA_latn", field: "target")) { error in
            XCTAssertEqual(
                error as? TranslationError,
                .unsupportedLanguage(code: "SPA_latn", field: "target", suggestion: "spa_Latn"))
        }
    }

    func waitUntil(timeout: TimeInterval = 10, _ condition: () -> Bool) -> Bool {
        let deadline = Date(timeIntervalSinceNow: timeout)
        while Date() < deadline {
            if condition() { return true }
            Thread.sleep(forTimeInterval: 0.005)
        }
        return condition()
    }
}
