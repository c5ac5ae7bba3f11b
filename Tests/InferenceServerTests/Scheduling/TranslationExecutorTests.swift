import Foundation
import XCTest
@testable import InferenceServer
@testable import ServiceTestSupport

/// Translation requests that arrive together share one backend call.
final class TranslationExecutorTests: XCTestCase {
    func testRequestsArrivingWhileTheBackendWorksShareTheNextCall() throws {
        let backend = FakeTranslationBackend()
        backend.gate = DispatchSemaphore(value: 0)
        let executor = TranslationExecutor(name: "fake", backend: backend, configuration: .init(maxBatch: 8, maxQueue: 8))
        defer { executor.shutdown(gracePeriod: 1) }
        let first = try executor.submit(TranslationRequest(texts: ["a b"], source: "eng_Latn", target: "spa_Latn"))
        XCTAssertTrue(waitUntil { backend.batches.count == 1 })
        let others = try (0..<5).map { index in
            try executor.submit(TranslationRequest(texts: ["x \(index)", "y"], source: "eng_Latn", target: "fra_Latn"))
        }
        for _ in 0..<2 { backend.gate?.signal() }
        XCTAssertEqual(try first.wait(timeout: 10)?.get().texts, ["<spa_Latn> b a"])
        for (index, ticket) in others.enumerated() {
            XCTAssertEqual(try ticket.wait(timeout: 10)?.get().texts, ["<fra_Latn> \(index) x", "<fra_Latn> y"])
        }
        XCTAssertEqual(backend.batches.map(\.count), [1, 5])
        XCTAssertEqual(executor.batchStatistics.largestBatch, 5)
    }

    func testABackendFailureFailsItsWholeBatchOnly() throws {
        let backend = FakeTranslationBackend()
        let executor = TranslationExecutor(name: "fake", backend: backend)
        defer { executor.shutdown(gracePeriod: 1) }
        backend.failWith = FakeBackendFailure()
        let failed = try executor.submit(TranslationRequest(texts: ["a"], source: "eng_Latn", target: "spa_Latn"))
        XCTAssertThrowsError(try failed.wait(timeout: 10)?.get())
        backend.failWith = nil
        let ok = try executor.submit(TranslationRequest(texts: ["a"], source: "eng_Latn", target: "spa_Latn"))
        XCTAssertEqual(try ok.wait(timeout: 10)?.get().texts, ["<spa_Latn> a"])
    }

    func testUnknownLanguagesAreRefusedWithASuggestion() {
        let backend = FakeTranslationBackend()
        XCTAssertNoThrow(try backend.validateLanguage("spa_Latn", field: "target"))
        XCTAssertThrowsError(try backend.validateLanguage("SPA_latn", field: "target")) { error in
            XCTAssertEqual(error as? TranslationError, .unsupportedLanguage(code: "SPA_latn", field: "target", suggestion: "spa_Latn"))
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
