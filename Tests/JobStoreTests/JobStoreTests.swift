import Foundation
import XCTest

@testable import JobStore
@testable import ServiceTestSupport

final class JobStoreTests: JobStoreTestCase {
    // MARK: Submit, get, list

    func testSubmitReturnsDurableQueuedJob() throws {
        let store = try openStore()
        let params = Data.json(#"{"prompt":"Once upon a time","max_tokens":50}"#)
        let submission = try store.submit(type: "story", params: params)
        XCTAssertTrue(submission.created)
        let job = submission.job
        XCTAssertEqual(job.status, .queued)
        XCTAssertEqual(job.type, "story")
        XCTAssertEqual(job.params, params)
        XCTAssertEqual(job.attempts, 0)
        XCTAssertNil(job.idempotencyKey)
        XCTAssertNil(job.result)
        XCTAssertEqual(try store.get(job.id), job)

        // Committed: visible after a restart.
        let reopened = try reopen(store)
        XCTAssertEqual(try reopened.get(job.id), job)
    }

    func testGetUnknownIsNilAndOtherOperationsThrowNotFound() throws {
        let store = try openStore()
        let unknown = JobID.random()
        XCTAssertNil(try store.get(unknown))
        XCTAssertThrowsError(try store.cancel(unknown)) { XCTAssertEqual($0 as? JobStoreError, .jobNotFound(unknown)) }
        XCTAssertThrowsError(try store.subscribe(unknown)) {
            XCTAssertEqual($0 as? JobStoreError, .jobNotFound(unknown))
        }
        XCTAssertThrowsError(try store.markRunning(unknown)) {
            XCTAssertEqual($0 as? JobStoreError, .jobNotFound(unknown))
        }
    }

    func testJobIDsAreWellFormedAndUnique() {
        var seen = Set<String>()
        for _ in 0..<2_000 {
            let id = JobID.random()
            XCTAssertTrue(seen.insert(id.rawValue).inserted)
            XCTAssertEqual(id.rawValue.count, 30)
            XCTAssertEqual(JobID(rawValue: id.rawValue), id)
        }
        // Every character position varies (the encoding uses all 128 bits, none stuck).
        let characters = seen.map { Array($0.utf8) }
        let positions = (4..<30).map { index in Set(characters.map { $0[index] }).count }
        XCTAssertTrue(positions.dropFirst().allSatisfy { $0 == 32 }, "\(positions)")
        XCTAssertEqual(positions.first, 8, "the leading character carries the top 3 bits")

        for bad in [
            "", "job_", "job_123", "JOB_0123456789abcdefghjkmnpqrs", "job_0123456789abcdefghjkmnpqri",
            "job_0123456789ABCDEFGHJKMNPQRS", "job_0123456789abcdefghjkmnpqrs0", "../etc/passwd",
        ] {
            XCTAssertNil(JobID(rawValue: bad), bad)
        }
    }

    func testListFiltersByStatusInSubmissionOrder() throws {
        let store = try openStore()
        let ids = try (0..<5).map { try store.submit(type: "generate", params: .json("{\"n\":\($0)}")).job.id }
        let lease = try XCTUnwrap(store.claimNext(type: "generate"))
        XCTAssertEqual(lease.jobID, ids[0])
        try store.complete(lease, result: .json("{}"))
        try store.cancel(ids[1])

        XCTAssertEqual(try store.list().map(\.id), ids)
        XCTAssertEqual(try store.list(newestFirst: true).map(\.id), ids.reversed())
        XCTAssertEqual(try store.list(limit: 2).map(\.id), Array(ids.prefix(2)))
        XCTAssertEqual(try store.list(status: .queued).map(\.id), Array(ids[2...]))
        XCTAssertEqual(try store.list(status: .succeeded).map(\.id), [ids[0]])
        XCTAssertEqual(try store.list(status: .cancelled).map(\.id), [ids[1]])
        XCTAssertEqual(try store.list(status: .running), [])
        XCTAssertEqual(try store.counts(), [.queued: 3, .succeeded: 1, .cancelled: 1])
        XCTAssertThrowsError(try store.list(limit: -1))
    }

    func testSubmitRejectsBadArguments() throws {
        let store = try openStore()
        XCTAssertThrowsError(try store.submit(type: "", params: .json("{}")))
        XCTAssertThrowsError(try store.submit(type: String(repeating: "t", count: 65), params: .json("{}")))
        XCTAssertThrowsError(try store.submit(type: "generate", params: .json("{}"), idempotencyKey: ""))
        XCTAssertThrowsError(
            try store.submit(type: "generate", params: .json("{}"), idempotencyKey: String(repeating: "k", count: 256)))
        XCTAssertEqual(try store.list(), [])
    }

    func testEmptyAndBinaryParamsRoundTrip() throws {
        let store = try openStore()
        let empty = try store.submit(type: "generate", params: Data()).job
        let binary = try store.submit(type: "generate", params: Data([0, 1, 2, 255, 0])).job
        let reopened = try reopen(store)
        XCTAssertEqual(try reopened.get(empty.id)?.params, Data())
        XCTAssertEqual(try reopened.get(binary.id)?.params, Data([0, 1, 2, 255, 0]))
    }

    // MARK: Idempotency

    func testSameIdempotencyKeyReturnsSameJob() throws {
        let store = try openStore()
        let first = try store.submit(type: "story", params: .json(#"{"a":1,"b":[1,2]}"#), idempotencyKey: "req-1")
        let retry = try store.submit(type: "story", params: .json(#"{"a":1,"b":[1,2]}"#), idempotencyKey: "req-1")
        XCTAssertTrue(first.created)
        XCTAssertFalse(retry.created)
        XCTAssertEqual(retry.job.id, first.job.id)
        XCTAssertEqual(retry.job.idempotencyKey, "req-1")

        // A retry whose JSON was re-serialised (key order, spacing) is the same request.
        let reordered = try store.submit(
            type: "story", params: .json(#"{ "b": [1, 2], "a": 1 }"#), idempotencyKey: "req-1")
        XCTAssertEqual(reordered.job.id, first.job.id)

        // Still the same job once it has finished, and after a restart.
        let lease = try XCTUnwrap(store.claimNext(type: "story"))
        try store.complete(lease, result: .json(#"{"text":"The end"}"#))
        let reopened = try reopen(store)
        let late = try reopened.submit(type: "story", params: .json(#"{"a":1,"b":[1,2]}"#), idempotencyKey: "req-1")
        XCTAssertEqual(late.job.id, first.job.id)
        XCTAssertEqual(late.job.status, .succeeded)
        XCTAssertEqual(try reopened.list().count, 1)
    }

    func testSameIdempotencyKeyWithDifferentRequestIsConflict() throws {
        let store = try openStore()
        let first = try store.submit(type: "story", params: .json(#"{"prompt":"a"}"#), idempotencyKey: "req-1")
        XCTAssertThrowsError(
            try store.submit(type: "story", params: .json(#"{"prompt":"b"}"#), idempotencyKey: "req-1")
        ) {
            XCTAssertEqual($0 as? JobStoreError, .idempotencyConflict(key: "req-1", existingJobID: first.job.id))
            XCTAssertTrue(String(describing: $0).contains("new key"))
        }
        XCTAssertThrowsError(
            try store.submit(type: "translate", params: .json(#"{"prompt":"a"}"#), idempotencyKey: "req-1")
        ) {
            XCTAssertEqual($0 as? JobStoreError, .idempotencyConflict(key: "req-1", existingJobID: first.job.id))
        }
        // Different keys, or no key, are independent jobs even with identical params.
        let other = try store.submit(type: "story", params: .json(#"{"prompt":"a"}"#), idempotencyKey: "req-2")
        let unkeyed1 = try store.submit(type: "story", params: .json(#"{"prompt":"a"}"#))
        let unkeyed2 = try store.submit(type: "story", params: .json(#"{"prompt":"a"}"#))
        XCTAssertEqual(Set([first.job.id, other.job.id, unkeyed1.job.id, unkeyed2.job.id]).count, 4)
    }

    func testParamsComparisonIsByJSONValue() {
        XCTAssertTrue(
            JobStore.sameJSON(.json(#"{"a":1,"b":{"c":"x","d":null}}"#), .json(#"{"b":{"d":null,"c":"x"},"a":1}"#)))
        XCTAssertFalse(JobStore.sameJSON(.json(#"{"a":1}"#), .json(#"{"a":2}"#)))
        XCTAssertFalse(JobStore.sameJSON(.json(#"[1,2]"#), .json(#"[2,1]"#)))
        XCTAssertFalse(JobStore.sameJSON(.json(#"{"a":"1"}"#), .json(#"{"a":1}"#)))
        XCTAssertTrue(JobStore.sameJSON(Data([0xFF, 0x00]), Data([0xFF, 0x00])))
        XCTAssertFalse(JobStore.sameJSON(Data([0xFF, 0x00]), Data([0xFF, 0x01])))
    }

    // MARK: Lifecycle

    func testClaimCompleteAndFail() throws {
        let clock = FakeClock()
        let store = try openStore(.init(clock: { clock.now }))
        let a = try store.submit(type: "generate", params: .json("{}")).job
        let b = try store.submit(type: "generate", params: .json("{}")).job

        clock.advance(by: 2)
        let leaseA = try XCTUnwrap(store.claimNext(type: "generate"))
        XCTAssertEqual(leaseA.jobID, a.id)
        XCTAssertEqual(leaseA.job.status, .running)
        XCTAssertEqual(leaseA.attempt, 1)
        XCTAssertEqual(leaseA.job.startedAt, clock.now)
        XCTAssertEqual(try store.get(a.id)?.status, .running)

        clock.advance(by: 3)
        let done = try store.complete(leaseA, result: .json(#"{"text":"hi"}"#))
        XCTAssertEqual(done.status, .succeeded)
        XCTAssertEqual(done.result, .json(#"{"text":"hi"}"#))
        XCTAssertEqual(done.finishedAt, clock.now)
        XCTAssertEqual(try store.get(a.id), done)

        let leaseB = try store.markRunning(b.id)
        let failed = try store.fail(leaseB, message: "model not loaded")
        XCTAssertEqual(failed.status, .failed)
        XCTAssertEqual(failed.errorMessage, "model not loaded")
        XCTAssertNil(failed.result)
        XCTAssertNil(try store.claimNext(type: "generate"))

        // A finished lease cannot be used again, and a finished job cannot be started.
        XCTAssertThrowsError(try store.complete(leaseA, result: Data())) {
            XCTAssertEqual($0 as? JobStoreError, .leaseLost(a.id, status: .succeeded))
        }
        XCTAssertThrowsError(try store.markRunning(b.id)) {
            XCTAssertEqual($0 as? JobStoreError, .invalidState(b.id, status: .failed, operation: "start"))
        }
    }

    func testClaimIsFIFOPerType() throws {
        let store = try openStore()
        let a1 = try store.submit(type: "a", params: .json("1")).job.id
        let b1 = try store.submit(type: "b", params: .json("1")).job.id
        let a2 = try store.submit(type: "a", params: .json("2")).job.id
        let a3 = try store.submit(type: "a", params: .json("3")).job.id
        XCTAssertEqual(try store.claimNext(type: "a")?.jobID, a1)
        XCTAssertEqual(try store.claimNext(type: "a")?.jobID, a2)
        XCTAssertEqual(try store.claimNext(type: "b")?.jobID, b1)
        XCTAssertEqual(try store.claimNext(type: "a")?.jobID, a3)
        XCTAssertNil(try store.claimNext(type: "a"))
        XCTAssertNil(try store.claimNext(type: "c"))
    }

    func testRequeueGivesAttemptBackKeepsPlaceAndRevokesLease() throws {
        let store = try openStore()
        let first = try store.submit(type: "a", params: .json("1")).job.id
        let second = try store.submit(type: "a", params: .json("2")).job.id
        let lease = try XCTUnwrap(store.claimNext(type: "a"))
        lease.progress.token("partial")
        let requeued = try store.requeue(lease)
        XCTAssertEqual(requeued.status, .queued)
        XCTAssertEqual(requeued.attempts, 0)
        XCTAssertThrowsError(try store.complete(lease, result: Data())) {
            XCTAssertEqual($0 as? JobStoreError, .leaseLost(first, status: .queued))
        }
        // The old attempt's tokens go nowhere.
        lease.progress.token("late")
        XCTAssertNil(try store.get(first)?.partialText)

        // Back at the front of the queue.
        let again = try XCTUnwrap(store.claimNext(type: "a"))
        XCTAssertEqual(again.jobID, first)
        XCTAssertEqual(again.attempt, 1)
        XCTAssertEqual(try store.claimNext(type: "a")?.jobID, second)
        XCTAssertThrowsError(try store.fail(lease, message: "stale")) {
            XCTAssertEqual($0 as? JobStoreError, .leaseLost(first, status: .running))
        }
    }

    func testPartialTextIsVisibleWhileRunningOnly() throws {
        let store = try openStore()
        let id = try store.submit(type: "story", params: .json("{}")).job.id
        let lease = try store.markRunning(id)
        XCTAssertEqual(try store.get(id)?.partialText, "")
        lease.progress.token("Once")
        lease.progress.token(" upon")
        XCTAssertEqual(try store.get(id)?.partialText, "Once upon")
        XCTAssertEqual(lease.progress.text, "Once upon")
        XCTAssertEqual(try store.list(status: .running).first?.partialText, "Once upon")
        try store.complete(lease, result: .json(#"{"text":"Once upon a time"}"#))
        XCTAssertNil(try store.get(id)?.partialText)
    }

    // MARK: Cancel

    func testCancelQueuedJobIsImmediate() throws {
        let store = try openStore()
        let id = try store.submit(type: "a", params: .json("{}")).job.id
        let cancelled = try store.cancel(id)
        XCTAssertEqual(cancelled.status, .cancelled)
        XCTAssertNotNil(cancelled.finishedAt)
        XCTAssertEqual(try store.get(id)?.status, .cancelled)
        XCTAssertNil(try store.claimNext(type: "a"))
        // Cancelling a finished job changes nothing.
        XCTAssertEqual(try store.cancel(id), cancelled)
    }

    func testCancelRunningJobSetsFlagAndCancelWins() throws {
        let store = try openStore()
        let id = try store.submit(type: "a", params: .json("{}")).job.id
        let lease = try store.markRunning(id)
        XCTAssertFalse(lease.cancellation.isCancelled)

        let requested = try store.cancel(id)
        XCTAssertEqual(requested.status, .running)
        XCTAssertTrue(requested.cancelRequested)
        XCTAssertTrue(lease.cancellation.isCancelled)
        XCTAssertThrowsError(try lease.cancellation.check())

        // The executor finished anyway: the client asked to cancel, so the result is dropped.
        let final = try store.complete(lease, result: .json(#"{"text":"too late"}"#))
        XCTAssertEqual(final.status, .cancelled)
        XCTAssertNil(final.result)
        XCTAssertEqual(try store.get(id)?.status, .cancelled)
    }

    func testCancelledRunningJobThatThrowsEndsCancelledNotFailed() throws {
        let store = try openStore()
        let id = try store.submit(type: "a", params: .json("{}")).job.id
        let lease = try store.markRunning(id)
        try store.cancel(id)
        XCTAssertEqual(try store.fail(lease, message: "CancellationError()").status, .cancelled)
        XCTAssertNil(try store.get(id)?.errorMessage)
    }

    // MARK: Expiry

    func testExpireDeletesOnlyOldFinishedJobsAndFreesTheirKeys() throws {
        let clock = FakeClock()
        let store = try openStore(.init(clock: { clock.now }))
        let oldDone = try store.submit(type: "a", params: .json("1"), idempotencyKey: "k1").job.id
        try store.complete(store.markRunning(oldDone), result: .json("{}"))
        let oldCancelled = try store.submit(type: "a", params: .json("2")).job.id
        try store.cancel(oldCancelled)
        let oldQueued = try store.submit(type: "a", params: .json("3")).job.id
        let oldRunning = try store.submit(type: "b", params: .json("4")).job.id
        let lease = try store.markRunning(oldRunning)

        clock.advance(by: 3600)
        let recentFailed = try store.submit(type: "a", params: .json("5")).job.id
        try store.fail(store.markRunning(recentFailed), message: "x")

        clock.advance(by: 60)
        XCTAssertEqual(try store.expire(olderThan: 600), 2)
        XCTAssertNil(try store.get(oldDone))
        XCTAssertNil(try store.get(oldCancelled))
        XCTAssertEqual(try store.get(oldQueued)?.status, .queued)
        XCTAssertEqual(try store.get(oldRunning)?.status, .running)
        XCTAssertEqual(try store.get(recentFailed)?.status, .failed)
        XCTAssertEqual(try store.expire(olderThan: 600), 0)

        // The expired job's key may name a new request now.
        let reused = try store.submit(type: "a", params: .json("99"), idempotencyKey: "k1")
        XCTAssertTrue(reused.created)
        XCTAssertNotEqual(reused.job.id, oldDone)

        try store.complete(lease, result: Data())
        clock.advance(by: 601)
        XCTAssertEqual(try store.expire(olderThan: 600), 2)
        XCTAssertEqual(Set(try store.list().map(\.id)), [oldQueued, reused.job.id])
    }

    func testExpireWorksInBatches() throws {
        let clock = FakeClock()
        let store = try openStore(.init(clock: { clock.now }))
        for index in 0..<600 {
            let id = try store.submit(type: "a", params: .json("\(index)")).job.id
            try store.cancel(id)
        }
        clock.advance(by: 10)
        XCTAssertEqual(try store.expire(olderThan: 1), 600)
        XCTAssertEqual(try store.counts(), [:])
    }

    // MARK: Recovery

    func testRecoverUnfinishedRequeuesCancelsAndFails() throws {
        let store = try openStore(.init(maxAttempts: 2))
        let queued = try store.submit(type: "a", params: .json("1")).job.id
        let running = try store.submit(type: "a", params: .json("2")).job.id
        let cancelRequested = try store.submit(type: "a", params: .json("3")).job.id
        let done = try store.submit(type: "a", params: .json("4")).job.id
        _ = try store.markRunning(running)
        _ = try store.markRunning(cancelRequested)
        try store.cancel(cancelRequested)
        try store.complete(store.markRunning(done), result: .json(#""ok""#))
        // Leases of this instance are not orphans.
        XCTAssertEqual(try store.recoverUnfinished(), .init())

        // "Crash": the rows stay running, the leases die with the process.
        var reopened = try reopen(store, .init(maxAttempts: 2))
        XCTAssertEqual(try reopened.get(running)?.status, .running)
        let report = try reopened.recoverUnfinished()
        XCTAssertEqual(report.requeued, [running])
        XCTAssertEqual(report.cancelled, [cancelRequested])
        XCTAssertEqual(report.failed, [])
        XCTAssertEqual(try reopened.get(queued)?.status, .queued)
        XCTAssertEqual(try reopened.get(running)?.status, .queued)
        XCTAssertEqual(try reopened.get(running)?.attempts, 1)
        XCTAssertEqual(try reopened.get(cancelRequested)?.status, .cancelled)
        XCTAssertEqual(try reopened.get(done)?.result, .json(#""ok""#))
        // FIFO by submission: `queued` was submitted before `running`.
        XCTAssertEqual(try reopened.claimNext(type: "a")?.jobID, queued)
        XCTAssertEqual(try reopened.claimNext(type: "a")?.jobID, running)

        // Second crash while running it: attempts reach maxAttempts (2) and it fails for good.
        reopened = try reopen(reopened, .init(maxAttempts: 2))
        let second = try reopened.recoverUnfinished()
        XCTAssertEqual(second.failed, [running])
        XCTAssertEqual(second.requeued, [queued])
        let failed = try XCTUnwrap(reopened.get(running))
        XCTAssertEqual(failed.status, .failed)
        XCTAssertEqual(failed.attempts, 2)
        XCTAssertTrue(failed.errorMessage?.contains("Gave up after 2 attempts") == true, failed.errorMessage ?? "")
    }

    func testPoisonJobFailsAfterMaxAttempts() throws {
        var store = try openStore()  // maxAttempts 3 by default
        let id = try store.submit(type: "poison", params: .json("{}")).job.id
        for attempt in 1...3 {
            XCTAssertEqual(try store.claimNext(type: "poison")?.attempt, attempt)
            store = try reopen(store)
            let report = try store.recoverUnfinished()
            XCTAssertEqual(attempt < 3 ? report.requeued : report.failed, [id])
        }
        XCTAssertEqual(try store.get(id)?.status, .failed)
        XCTAssertNil(try store.claimNext(type: "poison"))
    }

    // MARK: Concurrency

    func testConcurrentSubmitsAndReadsLoseAndDuplicateNothing() throws {
        let store = try openStore()
        let threads = 8
        let perThread = 150
        let ids = LockedArray<JobID>()
        let keyed = LockedArray<(String, JobID)>()
        let errors = LockedArray<String>()
        DispatchQueue.concurrentPerform(iterations: threads + 2) { worker in
            if worker >= threads {
                // Readers hammering the same connection meanwhile.
                for _ in 0..<200 {
                    do {
                        for job in try store.list(status: .queued, limit: 20) where try store.get(job.id) == nil {
                            errors.append("listed job \(job.id) not found")
                        }
                    } catch { errors.append("\(error)") }
                }
                return
            }
            for index in 0..<perThread {
                do {
                    if index % 10 == 0 {
                        // All threads race for the same 15 keys: one job per key must come out.
                        let key = "shared-\(index)"
                        let submission = try store.submit(
                            type: "generate", params: .json(#"{"k":"\#(key)"}"#), idempotencyKey: key)
                        keyed.append((key, submission.job.id))
                    } else {
                        ids.append(
                            try store.submit(type: "generate", params: .json("{\"w\":\(worker),\"i\":\(index)}")).job.id
                        )
                    }
                } catch { errors.append("\(error)") }
            }
        }
        XCTAssertEqual(errors.values, [])
        let unkeyed = ids.values
        XCTAssertEqual(unkeyed.count, threads * perThread * 9 / 10)
        XCTAssertEqual(Set(unkeyed).count, unkeyed.count, "duplicate ids")
        let byKey = Dictionary(grouping: keyed.values, by: { $0.0 }).mapValues { Set($0.map(\.1)) }
        XCTAssertEqual(byKey.count, perThread / 10)
        XCTAssertTrue(byKey.values.allSatisfy { $0.count == 1 }, "a key produced more than one job")

        let stored = try store.list(limit: 100_000)
        XCTAssertEqual(stored.count, unkeyed.count + byKey.count)
        XCTAssertEqual(Set(stored.map(\.id)), Set(unkeyed).union(byKey.values.flatMap { $0 }))
    }

    func testConcurrentClaimsRunEachJobExactlyOnce() throws {
        let store = try openStore()
        let submitted = try (0..<300).map { try store.submit(type: "t", params: .json("\($0)")).job.id }
        let claimed = LockedArray<JobID>()
        DispatchQueue.concurrentPerform(iterations: 6) { _ in
            while let lease = try? store.claimNext(type: "t") {
                claimed.append(lease.jobID)
                lease.progress.token("x")
                _ = try? store.complete(lease, result: .json("1"))
            }
        }
        XCTAssertEqual(claimed.values.count, submitted.count)
        XCTAssertEqual(Set(claimed.values), Set(submitted))
        XCTAssertEqual(try store.counts(), [.succeeded: 300])
    }

    // MARK: Files, durability settings and errors

    func testDatabaseUsesWALAndRequestedSynchronousMode() throws {
        let store = try openStore()
        XCTAssertEqual(try store.pragma("journal_mode"), .text("wal"))
        XCTAssertEqual(try store.pragma("synchronous"), .integer(1))  // NORMAL
        XCTAssertEqual(try store.pragma("user_version"), .integer(Int64(JobSchema.latestVersion)))
        XCTAssertEqual(try store.pragma("busy_timeout"), .integer(5000))
        store.close()

        let full = try openStore(.init(durability: .powerLoss))
        XCTAssertEqual(try full.pragma("synchronous"), .integer(2))  // FULL
    }

    func testCloseCheckpointsAndIsFinal() throws {
        let store = try openStore()
        let id = try store.submit(type: "a", params: .json("{}")).job.id
        XCTAssertTrue(FileManager.default.fileExists(atPath: databasePath + "-wal"))
        store.close()
        store.close()
        XCTAssertTrue(store.isClosed)
        let walSize = (try? FileManager.default.attributesOfItem(atPath: databasePath + "-wal")[.size] as? Int) ?? 0
        XCTAssertEqual(walSize, 0, "everything is checkpointed into the main file")
        XCTAssertThrowsError(try store.get(id)) { XCTAssertEqual($0 as? JobStoreError, .closed) }
        XCTAssertThrowsError(try store.submit(type: "a", params: Data())) {
            XCTAssertEqual($0 as? JobStoreError, .closed)
        }
        XCTAssertEqual(try openStore().get(id)?.status, .queued)
    }

    func testSecondOpenOfSameDatabaseIsRefused() throws {
        let store = try openStore()
        XCTAssertThrowsError(try JobStore(path: databasePath)) {
            XCTAssertEqual($0 as? JobStoreError, .databaseInUse(path: databasePath))
            XCTAssertTrue(String(describing: $0).contains("run the same jobs twice"))
        }
        store.close()
        XCTAssertNoThrow(try openStore())
    }

    func testGarbageFileIsNotADatabase() throws {
        var bytes = [UInt8](repeating: 0, count: 8192)
        var generator = SystemRandomNumberGenerator()
        for index in bytes.indices { bytes[index] = generator.next() }
        _ = FileManager.default.createFile(atPath: databasePath, contents: Data(bytes))
        XCTAssertThrowsError(try openStore()) {
            XCTAssertEqual($0 as? JobStoreError, .notADatabase(path: databasePath))
            XCTAssertTrue(String(describing: $0).contains("move it"))
        }
        // A text file, too.
        _ = FileManager.default.createFile(atPath: databasePath, contents: Data("job_abc queued\n".utf8))
        XCTAssertThrowsError(try openStore()) {
            XCTAssertEqual($0 as? JobStoreError, .notADatabase(path: databasePath))
        }
    }

    func testDamagedPagesAreReportedCorrupt() throws {
        let store = try openStore()
        for index in 0..<400 {
            _ = try store.submit(
                type: "story", params: .json(#"{"prompt":"\#(String(repeating: "x", count: 200))","n":\#(index)}"#))
        }
        store.close()
        // Scribble over a few pages in the middle, as a bad disk or a stray write would.
        let handle = try XCTUnwrap(FileHandle(forUpdatingAtPath: databasePath))
        try handle.seek(toOffset: 4096 * 5 + 10)
        handle.write(Data(repeating: 0xA5, count: 4096 * 3))
        try handle.close()
        XCTAssertThrowsError(try openStore()) { error in
            guard case .corrupt(let path, let detail)? = error as? JobStoreError else { return XCTFail("\(error)") }
            XCTAssertEqual(path, databasePath)
            XCTAssertFalse(detail.isEmpty)
        }
    }

    func testTruncatedDatabaseIsReportedCorrupt() throws {
        // Enough rows for a multi-page table and index, checkpointed into the main file.
        let store = try openStore()
        for index in 0..<400 {
            _ = try store.submit(
                type: "story", params: .json(#"{"prompt":"\#(String(repeating: "x", count: 200))","n":\#(index)}"#))
        }
        store.close()
        let size = try XCTUnwrap(FileManager.default.attributesOfItem(atPath: databasePath)[.size] as? Int)
        XCTAssertGreaterThan(size, 20 * 4096)
        for keep in [size / 2, 4096 * 3, 100] {
            let handle = try XCTUnwrap(FileHandle(forWritingAtPath: databasePath))
            try handle.truncate(atOffset: UInt64(keep))
            try handle.close()
            XCTAssertThrowsError(try openStore(), "truncated to \(keep) bytes") { error in
                switch error as? JobStoreError {
                case .corrupt?, .notADatabase?: break
                default: XCTFail("truncated to \(keep) bytes: unexpected \(error)")
                }
            }
        }
    }

    func testUnopenablePathsAreTypedErrors() throws {
        // A directory that does not exist.
        let missing = directory.appendingPathComponent("no/such/dir/jobs.sqlite").path
        XCTAssertThrowsError(try openStore(path: missing)) { error in
            guard case .cannotOpen(let path, let reason)? = error as? JobStoreError else { return XCTFail("\(error)") }
            XCTAssertEqual(path, missing)
            XCTAssertTrue(reason.contains("No such file"), reason)
        }
        // A path whose "directory" is a regular file: fails even for root, unlike permissions.
        let file = directory.appendingPathComponent("plain-file").path
        _ = FileManager.default.createFile(atPath: file, contents: Data("x".utf8))
        XCTAssertThrowsError(try openStore(path: file + "/jobs.sqlite")) { error in
            guard case .cannotOpen? = error as? JobStoreError else { return XCTFail("\(error)") }
        }
        // The path is a directory.
        XCTAssertThrowsError(try openStore(path: directory.path)) { error in
            guard case .cannotOpen(_, let reason)? = error as? JobStoreError else { return XCTFail("\(error)") }
            XCTAssertTrue(reason.contains("directory"), reason)
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: directory.path + ".lock"), "nothing left next to it")
        XCTAssertThrowsError(try openStore(path: ":memory:")) {
            guard case .invalidArgument? = $0 as? JobStoreError else { return XCTFail("\($0)") }
        }
    }

    func testReadOnlyFilesAreTypedErrors() throws {
        try XCTSkipIf(geteuid() == 0, "root ignores file permissions")
        // A directory the server cannot write (it could not create the lock, WAL or shm files).
        let readOnlyDirectory = directory.appendingPathComponent("ro")
        try FileManager.default.createDirectory(at: readOnlyDirectory, withIntermediateDirectories: false)
        try FileManager.default.setAttributes([.posixPermissions: 0o555], ofItemAtPath: readOnlyDirectory.path)
        defer {
            try? FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: readOnlyDirectory.path)
        }
        XCTAssertThrowsError(try openStore(path: readOnlyDirectory.appendingPathComponent("jobs.sqlite").path)) {
            error in
            guard case .readOnly? = error as? JobStoreError else { return XCTFail("\(error)") }
        }

        // A write-protected database file in a writable directory.
        try openStore().close()
        try FileManager.default.setAttributes([.posixPermissions: 0o444], ofItemAtPath: databasePath)
        XCTAssertThrowsError(try openStore()) { error in
            guard case .readOnly(let path, _)? = error as? JobStoreError else { return XCTFail("\(error)") }
            XCTAssertEqual(path, databasePath)
        }
    }

    func testSchemaFromNewerVersionIsRefused() throws {
        try openStore().close()
        let raw = try SQLiteDatabase(path: databasePath)
        try raw.execute("PRAGMA user_version = 99")
        raw.close()
        XCTAssertThrowsError(try openStore()) {
            XCTAssertEqual(
                $0 as? JobStoreError, .schemaTooNew(path: databasePath, found: 99, supported: JobSchema.latestVersion))
            XCTAssertTrue(String(describing: $0).contains("newer Octavo Infer"))
        }
    }

    func testSomeoneElsesDatabaseIsRefused() throws {
        let raw = try SQLiteDatabase(path: databasePath)
        try raw.execute("CREATE TABLE users (name TEXT)")
        raw.close()
        XCTAssertThrowsError(try openStore()) {
            XCTAssertEqual($0 as? JobStoreError, .foreignDatabase(path: databasePath))
        }
    }

    func testErrorDescriptionsSayWhatToDo() {
        let id = JobID.random()
        let errors: [JobStoreError] = [
            .cannotOpen(path: "/x", reason: "r"), .readOnly(path: "/x", reason: "r"), .notADatabase(path: "/x"),
            .corrupt(path: "/x", detail: "d"), .foreignDatabase(path: "/x"),
            .schemaTooNew(path: "/x", found: 3, supported: 1),
            .databaseInUse(path: "/x"), .busy(path: "/x"), .diskFull(path: "/x"),
            .sqlite(code: 1, message: "m", sql: "SELECT 1"),
            .closed, .jobNotFound(id), .idempotencyConflict(key: "k", existingJobID: id),
            .leaseLost(id, status: .queued),
            .invalidState(id, status: .failed, operation: "start"), .invalidArgument("a"),
        ]
        for error in errors {
            XCTAssertGreaterThan(error.description.count, 15, "\(error)")
        }
    }
}

/// A thread-safe array for collecting results from concurrent workers.
final class LockedArray<Element>: @unchecked Sendable {
    private let lock = NSLock()
    private var storage: [Element] = []

    func append(_ element: Element) {
        lock.lock()
        storage.append(element)
        lock.unlock()
    }

    var values: [Element] {
        lock.lock()
        defer { lock.unlock() }
        return storage
    }
}
