import Foundation
import XCTest
@testable import InferenceServer

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

    private func params(_ n: Int) -> Data { Data(#"{"n":\#(n)}"#.utf8) }

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
        let runner = JobRunner(store: store, configuration: .init(concurrency: ["echo": 2], log: { _ in })) { job, progress, cancellation in
            progress.token("n=")
            if job.params == self.params(99) {
                // Held until the runner stops: it must go back to the queue.
                while gate.wait(timeout: .now() + 0.05) == .timedOut { if cancellation.isCancelled { throw CancellationError() } }
            }
            return Data(#"{"echo":"#.utf8) + job.params + Data("}".utf8)
        }
        try runner.start()
        let watched = try store.submit(type: "echo", params: params(50), idempotencyKey: nil).job
        let subscription = try store.subscribe(watched.id)
        let ids = try (0..<10).map { try store.submit(type: "echo", params: params(100 + $0), idempotencyKey: nil).job.id }
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
        XCTAssertEqual(try store.list(status: .succeeded, limit: 3, newestFirst: true).map(\.id), [ids[9], ids[8], ids[7]])
        XCTAssertEqual(try store.list(status: nil, limit: 2, newestFirst: false).map(\.id), [keyed.job.id, cancelled.id])
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
