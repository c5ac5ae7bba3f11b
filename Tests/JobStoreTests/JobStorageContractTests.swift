import Foundation
import XCTest

@testable import JobStore
@testable import ServiceTestSupport

/// What the handlers and `JobRunner` rely on, run against both stores through `JobStorage`
/// only: idempotency, cancel, a runner working the queue, events, listing, graceful stop, close.
final class JobStorageContractTests: JobStoreTestCase {
    func testSQLiteStoreKeepsTheContract() throws {
        try exercise(openStore())
    }

    func testRedisStoreKeepsTheContract() throws {
        let redis = try RedisServerProcess(appendOnly: false)
        let store = try RedisJobStore(url: redis.url, configuration: .init(claimBlock: 0.2))
        defer { store.close() }
        try exercise(store)
    }

    func testSQLiteStoreReplaysAndStreamsParagraphs() throws {
        try exerciseParagraphs(openStore())
    }

    func testRedisStoreReplaysAndStreamsParagraphs() throws {
        let redis = try RedisServerProcess(appendOnly: false)
        let store = try RedisJobStore(url: redis.url, configuration: .init(claimBlock: 0.2))
        defer { store.close() }
        try exerciseParagraphs(store)
    }

    private func params(_ n: Int) -> Data { Data(#"{"n":\#(n)}"#.utf8) }

    /// A story job's paragraphs: a subscriber from the start and one that joins after two of
    /// them each see every paragraph exactly once, in order, then the result.
    private func exerciseParagraphs(_ store: any JobStorage) throws {
        let secondWritten = DispatchSemaphore(value: 0)
        let lateSubscribed = DispatchSemaphore(value: 0)
        let paragraphs = (0..<3).map { Data(#"{"index":\#($0),"text":"p\#($0)","translation":null}"#.utf8) }
        let runner = JobRunner(store: store, configuration: .init(concurrency: ["story": 1], log: { _ in })) {
            _, progress, _ in
            progress.paragraph(paragraphs[0])
            progress.paragraph(paragraphs[1])
            Thread.sleep(forTimeInterval: 0.3)  // written to the store (Redis flushes every 100 ms)
            secondWritten.signal()
            _ = lateSubscribed.wait(timeout: .now() + 10)
            progress.paragraph(paragraphs[2])
            return Data(#"{"done":true}"#.utf8)
        }
        let job = try store.submit(type: "story", params: Data("{}".utf8), idempotencyKey: nil).job
        let early = try store.subscribe(job.id)
        try runner.start()
        defer { _ = runner.stop(gracePeriod: 1) }
        XCTAssertEqual(secondWritten.wait(timeout: .now() + 10), .success)
        let late = try store.subscribe(job.id)
        lateSubscribed.signal()
        for (name, subscription) in [("early", early), ("late", late)] {
            var seen: [JobEvent] = []
            while case .event(let event) = subscription.next(timeout: 10) {
                seen.append(event)
                if event.isFinal { break }
            }
            let shown = seen.compactMap { event -> Data? in
                if case .paragraph(let json) = event { return json } else { return nil }
            }
            XCTAssertEqual(shown, paragraphs, "\(name): \(seen)")
            XCTAssertEqual(seen.last, .done(result: Data(#"{"done":true}"#.utf8)), name)
        }
    }

    private func exercise(_ store: any JobStorage) throws {
        XCTAssertTrue(store.health().isOK)
        let keyed = try store.submit(type: "echo", params: params(1), idempotencyKey: "k")
        XCTAssertTrue(keyed.created)
        XCTAssertEqual(keyed.job.status, .queued)
        let replay = try store.submit(type: "echo", params: Data(#"{ "n" : 1 }"#.utf8), idempotencyKey: "k")
        XCTAssertFalse(replay.created)
        XCTAssertEqual(replay.job.id, keyed.job.id)
        XCTAssertThrowsError(try store.submit(type: "echo", params: params(2), idempotencyKey: "k")) { error in
            XCTAssertEqual(error as? JobStoreError, .idempotencyConflict(key: "k", existingJobID: keyed.job.id))
        }
        let cancelled = try store.submit(type: "echo", params: params(3), idempotencyKey: nil).job
        XCTAssertEqual(try store.cancel(cancelled.id).status, .cancelled)
        XCTAssertNil(try store.get(JobID.random()))
        XCTAssertThrowsError(try store.subscribe(JobID.random())) { error in
            guard case JobStoreError.jobNotFound = error else { return XCTFail("\(error)") }
        }

        let gate = DispatchSemaphore(value: 0)
        let runner = JobRunner(store: store, configuration: .init(concurrency: ["echo": 2], log: { _ in })) {
            job, progress, cancellation in
            progress.token("n=")
            if job.params == self.params(99) {
                // Held until the runner stops: it must go back to the queue.
                while gate.wait(timeout: .now() + 0.05) == .timedOut {
                    if cancellation.isCancelled { throw CancellationError() }
                }
            }
            return Data(#"{"echo":"#.utf8) + job.params + Data("}".utf8)
        }
        try runner.start()
        let watched = try store.submit(type: "echo", params: params(50), idempotencyKey: nil).job
        let subscription = try store.subscribe(watched.id)
        let ids = try (0..<10).map {
            try store.submit(type: "echo", params: params(100 + $0), idempotencyKey: nil).job.id
        }
        var events: [JobEvent] = []
        while case .event(let event) = subscription.next(timeout: 10) {
            events.append(event)
            if event.isFinal { break }
        }
        XCTAssertEqual(events.last, .done(result: Data(#"{"echo":{"n":50}}"#.utf8)), "\(events)")
        try waitUntil(timeout: 20, "every job to succeed") {
            try ([keyed.job.id, watched.id] + ids).allSatisfy { try store.get($0)?.status == .succeeded }
        }
        XCTAssertEqual(try store.get(ids[3])?.result, Data(#"{"echo":{"n":103}}"#.utf8))
        XCTAssertEqual(try store.get(cancelled.id)?.status, .cancelled, "a cancelled job never runs")
        XCTAssertEqual(
            try store.list(status: .succeeded, limit: 3, newestFirst: true).map(\.id), [ids[9], ids[8], ids[7]])
        XCTAssertEqual(
            try store.list(status: nil, limit: 2, newestFirst: false).map(\.id), [keyed.job.id, cancelled.id])
        XCTAssertEqual(try store.list(status: .cancelled, limit: 100, newestFirst: true).map(\.id), [cancelled.id])

        let held = try store.submit(type: "echo", params: params(99), idempotencyKey: nil).job
        try waitUntil(timeout: 10, "the held job to start") { try store.get(held.id)?.status == .running }
        let report = runner.stop(gracePeriod: 0.2)
        gate.signal()
        XCTAssertEqual(report.requeued, [held.id], "unfinished at stop: back in the queue")
        XCTAssertThrowsError(try store.get(held.id)) { error in
            XCTAssertEqual(error as? JobStoreError, .closed, "stop closes the store")
        }
    }
}
