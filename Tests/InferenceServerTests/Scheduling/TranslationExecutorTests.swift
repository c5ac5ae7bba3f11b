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
    func service(_ backend: TranslationBackend, maxBatch: Int = 8) -> TranslationService {
        TranslationService(
            name: "fake", backend: backend, configuration: .init(maxBatch: maxBatch, maxQueue: 8),
            metrics: nil)
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
        let pipeline = try NLLBPipeline(directory: AppFixtures.root.appendingPathComponent("NLLB/tiny"))
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
        let translator = service(backend, maxBatch: 3)
        defer { translator.executor.shutdown(gracePeriod: 1) }
        var calls: [TranslationCall] = []
        for request in requests {
            let passes = translator.executor.statistics.forwardPasses
            calls.append(try TranslationCall(request, on: translator, timeout: nil))
            // The next one arrives a few decoder steps later (or once everything so far is done).
            _ = waitUntil(timeout: 5) { translator.executor.statistics.forwardPasses >= passes + 2 }
        }
        for (i, call) in calls.enumerated() {
            XCTAssertEqual(try call.wait(timeout: 60)?.get().texts, alone[i], "request \(i)")
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
