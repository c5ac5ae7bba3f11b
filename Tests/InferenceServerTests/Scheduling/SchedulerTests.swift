import Foundation
import GPT2
import Generation
import XCTest

@testable import InferenceServer
@testable import ServiceTestSupport

/// The continuous-batching executor: batched greedy output equals sequential output,
/// queue limits, cancellation and timeouts.
final class SchedulerTests: XCTestCase {
    func greedyRequest(_ ids: [Int], tokens: Int, timeout: TimeInterval? = nil) -> GenerationRequest {
        var p = GenerationParameters()
        p.maxNewTokens = tokens
        p.doSample = false
        return GenerationRequest(promptIDs: ids, parameters: p, timeout: timeout)
    }

    func run(_ executor: GenerationExecutor, _ request: GenerationRequest) throws -> GenerationOutcome {
        let call = GenerationChannelProbe(executor: executor)
        return try call.run(request)
    }

    func testSixteenConcurrentGreedyRequestsMatchSequentialOnesAndShareForwardPasses() throws {
        let pipeline = try AppFixtures.freshPipeline()
        let reference = try AppFixtures.reference()
        let metrics = ServerMetrics()
        // Slow enough that the 16 arrivals overlap; maxBatch 8 so the queue is used too.
        let executor = GenerationExecutor(
            name: "tiny", model: SlowModel(pipeline.model, delay: 0.002), tokenizer: pipeline.tokenizer,
            configuration: .init(maxBatch: 8, maxQueue: 16), metrics: metrics)
        defer { executor.shutdown(gracePeriod: 1) }
        // Different prompt lengths and budgets, so sequences join and leave mid-batch.
        let requests = (0..<16).map { index -> GenerationRequest in
            let prompt = reference.prompts[index % reference.prompts.count]
            return greedyRequest(prompt.ids, tokens: 8 + (index % 5) * 4)
        }
        var sequential: [[Int]] = []
        for request in requests { sequential.append(try run(executor, request).generatedIDs) }
        let sequentialStats = executor.statistics
        XCTAssertEqual(sequentialStats.largestBatch, 1)

        let channel = GenerationEventChannel()
        for (index, request) in requests.enumerated() { try executor.submit(request, to: channel, choice: index) }
        var batched = [[Int]?](repeating: nil, count: requests.count)
        var remaining = requests.count
        while remaining > 0 {
            guard let event = channel.next(timeout: 30) else { return XCTFail("no event within 30 s") }
            if case .finished(let choice, let outcome) = event {
                batched[choice] = outcome.generatedIDs
                remaining -= 1
            } else if case .failed(_, let error) = event {
                return XCTFail("failed: \(error)")
            }
        }
        XCTAssertEqual(batched.map { $0 ?? [] }, sequential)
        for (index, request) in requests.enumerated() {
            let prompt = reference.prompts[index % reference.prompts.count]
            XCTAssertEqual(
                sequential[index], Array(prompt.greedy.prefix(request.parameters.maxNewTokens ?? 0)), prompt.text)
        }
        let stats = executor.statistics
        XCTAssertEqual(stats.largestBatch, 8)
        XCTAssertGreaterThan(metrics.largestBatchBucket(model: "tiny"), 1)
        // Batching shares passes: far fewer than one per token.
        let tokens = requests.reduce(0) { $0 + ($1.parameters.maxNewTokens ?? 0) }
        XCTAssertLessThan(stats.forwardPasses - sequentialStats.forwardPasses, tokens / 3)
    }

    func testAFullQueueRefusesAtOnceWithRetryAfter() throws {
        let pipeline = try AppFixtures.freshPipeline()
        let executor = GenerationExecutor(
            name: "tiny", model: SlowModel(pipeline.model, delay: 0.05), tokenizer: pipeline.tokenizer,
            configuration: .init(maxBatch: 1, maxQueue: 1, retryAfterSeconds: 3))
        defer { executor.shutdown(gracePeriod: 0) }
        let channel = GenerationEventChannel()
        let running = try executor.submit(greedyRequest([1, 2], tokens: 40), to: channel, choice: 0)
        XCTAssertTrue(waitUntil { executor.queueDepth == 0 && executor.statistics.forwardPasses > 0 })
        let queued = try executor.submit(greedyRequest([1, 2], tokens: 40), to: channel, choice: 1)
        XCTAssertThrowsError(try executor.submit(greedyRequest([1, 2], tokens: 1), to: channel, choice: 2)) { error in
            XCTAssertEqual(error as? ExecutorError, .queueFull(model: "tiny", capacity: 1, retryAfterSeconds: 3))
        }
        running.cancel()
        queued.cancel()
    }

    func testCancellingARunningSequenceRetiresItAndFreesItsSlot() throws {
        let pipeline = try AppFixtures.freshPipeline()
        let executor = GenerationExecutor(
            name: "tiny", model: SlowModel(pipeline.model, delay: 0.01), tokenizer: pipeline.tokenizer,
            configuration: .init(maxBatch: 2, maxQueue: 4))
        defer { executor.shutdown(gracePeriod: 1) }
        let channel = GenerationEventChannel()
        let ticket = try executor.submit(greedyRequest([1, 2, 3], tokens: 50), to: channel, choice: 0)
        var tokens = 0
        var outcome: GenerationOutcome?
        while outcome == nil, let event = channel.next(timeout: 10) {
            switch event {
            case .token:
                tokens += 1
                if tokens == 3 { ticket.cancel() }
            case .finished(_, let finished): outcome = finished
            case .failed(_, let error): XCTFail("\(error)")
            }
        }
        XCTAssertEqual(outcome?.finishReason, .cancelled)
        XCTAssertLessThan(outcome?.generatedIDs.count ?? 99, 10)
        XCTAssertEqual(executor.statistics.cancelled, 1)
        // The slot is free again.
        XCTAssertEqual(try run(executor, greedyRequest([1, 2], tokens: 2)).generatedIDs.count, 2)
    }

    func testATimedOutRequestFailsWithTimedOut() throws {
        let pipeline = try AppFixtures.freshPipeline()
        let executor = GenerationExecutor(
            name: "tiny", model: SlowModel(pipeline.model, delay: 0.02), tokenizer: pipeline.tokenizer)
        defer { executor.shutdown(gracePeriod: 1) }
        XCTAssertThrowsError(try run(executor, greedyRequest([1, 2], tokens: 50, timeout: 0.2))) { error in
            XCTAssertEqual(error as? ExecutorError, .timedOut(seconds: 0.2))
        }
    }

    func testInvalidRequestsFailWithoutDisturbingOthers() throws {
        let pipeline = try AppFixtures.freshPipeline()
        let executor = GenerationExecutor(name: "tiny", model: pipeline.model, tokenizer: pipeline.tokenizer)
        defer { executor.shutdown(gracePeriod: 1) }
        XCTAssertThrowsError(try run(executor, greedyRequest([1, 9999], tokens: 2))) { error in
            XCTAssertEqual(error as? GenerationError, .tokenOutOfRange(id: 9999, vocabularySize: 513))
        }
        XCTAssertEqual(try run(executor, greedyRequest([345, 452], tokens: 3)).generatedIDs.count, 3)
    }

    func testShutdownRefusesNewWorkAndEndsQueuedWork() throws {
        let pipeline = try AppFixtures.freshPipeline()
        let executor = GenerationExecutor(
            name: "tiny", model: SlowModel(pipeline.model, delay: 0.02), tokenizer: pipeline.tokenizer,
            configuration: .init(maxBatch: 1, maxQueue: 4))
        let channel = GenerationEventChannel()
        try executor.submit(greedyRequest([1, 2], tokens: 60), to: channel, choice: 0)
        try executor.submit(greedyRequest([1, 2], tokens: 60), to: channel, choice: 1)
        executor.shutdown(gracePeriod: 0.1)
        XCTAssertThrowsError(try executor.submit(greedyRequest([1], tokens: 1), to: channel, choice: 2)) { error in
            XCTAssertEqual(error as? ExecutorError, .shuttingDown(model: "tiny"))
        }
        var ended = 0
        while let event = channel.next(timeout: 0.5) {
            if event.isTerminal { ended += 1 }
        }
        XCTAssertEqual(ended, 2)
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

/// Runs one request through an executor and waits for its outcome.
struct GenerationChannelProbe {
    let executor: GenerationExecutor

    func run(_ request: GenerationRequest) throws -> GenerationOutcome {
        let channel = GenerationEventChannel()
        try executor.submit(request, to: channel)
        while let event = channel.next(timeout: 30) {
            switch event {
            case .token: continue
            case .finished(_, let outcome): return outcome
            case .failed(_, let error): throw error
            }
        }
        throw ExecutorError.timedOut(seconds: 30)
    }
}
