import Foundation
import XCTest

@testable import JobStore
@testable import ServiceTestSupport

/// A finished job whose outcome the store cannot take (disk full, database locked) keeps the
/// outcome and records it once the store takes writes again: the work is not lost or redone.
final class JobOutcomeRetryTests: JobStoreTestCase {
    /// The SQLite store, refusing the first `refusals` outcome writes as a full disk does.
    final class RefusingStore: JobStorage, @unchecked Sendable {
        let inner: JobStore
        private let lock = NSLock()
        private var refusals: Int
        private(set) var attempts = 0

        init(_ inner: JobStore, refusals: Int) {
            self.inner = inner
            self.refusals = refusals
        }

        private func refuseOnce() throws {
            lock.lock()
            defer { lock.unlock() }
            attempts += 1
            if refusals > 0 {
                refusals -= 1
                throw JobStoreError.diskFull(path: inner.path)
            }
        }

        func complete(_ lease: JobLease, result: Data) throws -> Job {
            try refuseOnce()
            return try inner.complete(lease, result: result)
        }

        func fail(_ lease: JobLease, message: String) throws -> Job {
            try refuseOnce()
            return try inner.fail(lease, message: message)
        }

        func submit(type: String, params: Data, idempotencyKey: String?) throws -> Submission {
            try inner.submit(type: type, params: params, idempotencyKey: idempotencyKey)
        }
        func get(_ id: JobID) throws -> Job? { try inner.get(id) }
        func list(status: JobStatus?, limit: Int, newestFirst: Bool) throws -> [Job] {
            try inner.list(status: status, limit: limit, newestFirst: newestFirst)
        }
        func cancel(_ id: JobID) throws -> Job { try inner.cancel(id) }
        func subscribe(_ id: JobID) throws -> JobSubscription { try inner.subscribe(id) }
        func claimNext(type: String) throws -> JobLease? { try inner.claimNext(type: type) }
        func requeue(_ lease: JobLease) throws -> Job { try inner.requeue(lease) }
        func recoverUnfinished() throws -> JobStore.RecoveryReport { try inner.recoverUnfinished() }
        func expire(olderThan age: TimeInterval) throws -> Int { try inner.expire(olderThan: age) }
        var workGeneration: UInt64 { inner.workGeneration }
        func waitForWork(after generation: UInt64, timeout: TimeInterval) {
            inner.waitForWork(after: generation, timeout: timeout)
        }
        func wakeWorkers() { inner.wakeWorkers() }
        func health() -> JobStorageHealth { inner.health() }
        func close() { inner.close() }
    }

    func testAnOutcomeTheStoreRefusesIsKeptAndRecordedLater() throws {
        let store = RefusingStore(try openStore(), refusals: 2)
        var log: [String] = []
        let logLock = NSLock()
        let runs = Counter()
        let runner = JobRunner(
            store: store,
            configuration: .init(
                concurrency: ["echo": 1], idlePollInterval: 0.05,
                log: { line in
                    logLock.lock()
                    log.append(line)
                    logLock.unlock()
                })
        ) { job, _, _ in
            runs.increment()
            return Data(#"{"done":true}"#.utf8)
        }
        try runner.start()
        defer { _ = runner.stop(gracePeriod: 1) }
        let job = try store.submit(type: "echo", params: Data("{}".utf8), idempotencyKey: nil).job
        let deadline = Date(timeIntervalSinceNow: 20)
        while try store.get(job.id)?.status != .succeeded, Date() < deadline { Thread.sleep(forTimeInterval: 0.02) }
        XCTAssertEqual(try store.get(job.id)?.result, Data(#"{"done":true}"#.utf8))
        XCTAssertEqual(store.attempts, 3, "two refused writes, then the one that took")
        XCTAssertEqual(runs.value, 1, "the job ran once: its outcome was kept, not redone")
        logLock.lock()
        defer { logLock.unlock() }
        XCTAssertTrue(log.contains { $0.contains("could not record the outcome of job \(job.id)") }, "\(log)")
        XCTAssertTrue(log.contains { $0.contains("recorded the outcome of job \(job.id) now that") }, "\(log)")
    }

    final class Counter: @unchecked Sendable {
        private let lock = NSLock()
        private var count = 0
        func increment() {
            lock.lock()
            count += 1
            lock.unlock()
        }
        var value: Int {
            lock.lock()
            defer { lock.unlock() }
            return count
        }
    }
}
