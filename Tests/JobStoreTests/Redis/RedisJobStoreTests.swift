import Foundation
import XCTest

@testable import JobStore
@testable import ServiceTestSupport

/// `RedisJobStore` with several store instances (standing in for servers) on one real Redis.
final class RedisJobStoreTests: XCTestCase {
    private var redis: RedisServerProcess!
    private var stores: [RedisJobStore] = []

    override func setUpWithError() throws {
        redis = try RedisServerProcess(appendOnly: true)
    }

    override func tearDown() {
        for store in stores { store.close() }
        stores = []
        redis = nil
    }

    private func makeStore(
        lease: TimeInterval = 30, flushInterval: TimeInterval = 0.05, claimBlock: TimeInterval = 0.2,
        models: [String] = ["m"]
    ) throws -> RedisJobStore {
        let store = try RedisJobStore(
            url: redis.url,
            configuration: .init(
                lease: lease, resultTTL: 3600, claimBlock: claimBlock,
                flushInterval: flushInterval))
        store.setServedModels(models)
        stores.append(store)
        return store
    }

    private func params(_ n: Int, model: String = "m") -> Data { Data(#"{"model":"\#(model)","n":\#(n)}"#.utf8) }

    private func claim(_ store: RedisJobStore, type: String = "t", timeout: TimeInterval = 10) throws -> JobLease {
        let deadline = Date(timeIntervalSinceNow: timeout)
        while Date() < deadline {
            if let lease = try store.claimNext(type: type) { return lease }
        }
        XCTFail("no job to claim within \(timeout) s")
        throw JobStoreError.invalidArgument("no job to claim")
    }

    private func doneEvents(_ id: JobID) throws -> Int {
        let client = RedisClient(url: redis.url)
        defer { client.close() }
        let events = RedisJobStore.decodeEvents(try client.send("XRANGE", "octavo:events:\(id)", "-", "+"))
        return events.filter { $0.1.isFinal }.count
    }

    func testAJobSubmittedOnOneServerRunsOnAnotherAndReadsEverywhere() throws {
        let a = try makeStore()
        let b = try makeStore()
        let submission = try a.submit(type: "t", params: params(1), idempotencyKey: nil)
        XCTAssertTrue(submission.created)
        XCTAssertEqual(try b.get(submission.job.id)?.status, .queued)
        let lease = try claim(b)
        XCTAssertEqual(lease.jobID, submission.job.id)
        XCTAssertEqual(lease.attempt, 1)
        XCTAssertNil(try a.claimNext(type: "t"), "a claimed job is not handed out twice")
        let subscription = try a.subscribe(submission.job.id)
        XCTAssertEqual(subscription.next(timeout: 5), .event(.started(attempt: 1)))
        lease.progress.token("Once ")
        lease.progress.token("upon")
        var text = ""
        while text != "Once upon", case .event(.token(let delta)) = subscription.next(timeout: 5) { text += delta }
        XCTAssertEqual(text, "Once upon", "tokens reach a subscriber on another server")
        XCTAssertEqual(try a.get(lease.jobID)?.partialText, "Once upon")
        let result = Data(#"{"text":"Once upon"}"#.utf8)
        let finished = try b.complete(lease, result: result)
        XCTAssertEqual(finished.status, .succeeded)
        XCTAssertEqual(subscription.next(timeout: 5), .event(.done(result: result)))
        XCTAssertEqual(subscription.next(timeout: 1), .ended)
        let job = try XCTUnwrap(a.get(lease.jobID))
        XCTAssertEqual(job.status, .succeeded)
        XCTAssertEqual(job.result, result)
        // A late subscriber on any server gets the final event at once.
        XCTAssertEqual(try b.subscribe(lease.jobID).next(timeout: 1), .event(.done(result: result)))
        XCTAssertEqual(try doneEvents(lease.jobID), 1)
        XCTAssertThrowsError(try b.complete(lease, result: result)) { error in
            guard case JobStoreError.leaseLost = error else { return XCTFail("\(error)") }
        }
        // Expiry comes from Redis: the record has the result TTL.
        let client = RedisClient(url: redis.url)
        defer { client.close() }
        let ttl = try XCTUnwrap(client.send("PTTL", "octavo:job:\(job.id)").integer)
        XCTAssertTrue((3_500_000...3_600_000).contains(ttl), "\(ttl)")
    }

    func testIdempotencyKeysHoldAcrossServers() throws {
        let a = try makeStore()
        let b = try makeStore()
        let first = try a.submit(type: "t", params: Data(#"{"model":"m","x":1,"y":2}"#.utf8), idempotencyKey: "k1")
        let retry = try b.submit(
            type: "t", params: Data(#"{ "y": 2, "x": 1, "model": "m" }"#.utf8), idempotencyKey: "k1")
        XCTAssertFalse(retry.created)
        XCTAssertEqual(retry.job.id, first.job.id)
        XCTAssertThrowsError(try b.submit(type: "t", params: params(9), idempotencyKey: "k1")) { error in
            XCTAssertEqual(error as? JobStoreError, .idempotencyConflict(key: "k1", existingJobID: first.job.id))
        }
        // Concurrent submits of one key from two servers make one job.
        let ids = LockedBox<[JobID]>([])
        DispatchQueue.concurrentPerform(iterations: 8) { index in
            let store = index % 2 == 0 ? a : b
            if let submission = try? store.submit(type: "t", params: params(5), idempotencyKey: "k2") {
                ids.update { $0.append(submission.job.id) }
            }
        }
        XCTAssertEqual(ids.value.count, 8)
        XCTAssertEqual(Set(ids.value).count, 1)
    }

    func testCancelIsSeenByTheServerRunningTheJob() throws {
        let a = try makeStore()
        let b = try makeStore()
        let queued = try a.submit(type: "t", params: params(1), idempotencyKey: nil).job
        XCTAssertEqual(try b.cancel(queued.id).status, .cancelled)
        XCTAssertNil(try a.claimNext(type: "t"), "a job cancelled while queued never runs")

        let running = try a.submit(type: "t", params: params(2), idempotencyKey: nil).job
        let lease = try claim(b)
        XCTAssertEqual(lease.jobID, running.id)
        XCTAssertTrue(try a.cancel(running.id).cancelRequested)
        pollUntil(5, "the running server to see the cancel") { lease.cancellation.isCancelled }
        // Cancel wins over a result the executor still returns.
        XCTAssertEqual(try b.complete(lease, result: Data("{}".utf8)).status, .cancelled)
        XCTAssertEqual(try a.get(running.id)?.status, .cancelled)
        XCTAssertEqual(try doneEvents(running.id), 1)
    }

    func testAJobWhoseServerStopsRenewingIsRunAgainElsewhereWithOneResult() throws {
        // `stalled` never renews (its keeper sleeps): it stands for a server that died or hung.
        let stalled = try makeStore(lease: 1, flushInterval: 1000)
        let healthy = try makeStore(lease: 1)
        let job = try stalled.submit(type: "t", params: params(1), idempotencyKey: nil).job
        let first = try claim(stalled)
        XCTAssertEqual(first.jobID, job.id)
        let start = Date()
        let second = try claim(healthy, timeout: 10)
        XCTAssertEqual(second.jobID, job.id)
        XCTAssertEqual(second.attempt, 2)
        XCTAssertGreaterThanOrEqual(Date().timeIntervalSince(start), 0.9, "taken over only after the lease")
        XCTAssertEqual(try healthy.complete(second, result: Data(#""second""#.utf8)).status, .succeeded)
        // The stalled server finishing late does not overwrite the stored result.
        XCTAssertThrowsError(try stalled.complete(first, result: Data(#""first""#.utf8))) { error in
            guard case JobStoreError.leaseLost = error else { return XCTFail("\(error)") }
        }
        XCTAssertEqual(try healthy.get(job.id)?.result, Data(#""second""#.utf8))
        XCTAssertEqual(try doneEvents(job.id), 1)
    }

    func testAServerWhoseJobWasTakenOverStopsRunningIt() throws {
        let a = try makeStore(lease: 1)
        let job = try a.submit(type: "t", params: params(1), idempotencyKey: nil).job
        let lease = try claim(a)
        // Another server took the job over (as after a stall longer than the lease).
        let client = RedisClient(url: redis.url)
        defer { client.close() }
        try client.send("HSET", "octavo:job:\(job.id)", "lease", "elsewhere:1")
        pollUntil(3, "the executor to be told to stop") { lease.cancellation.isCancelled }
        XCTAssertThrowsError(try a.complete(lease, result: Data("1".utf8))) { error in
            guard case JobStoreError.leaseLost = error else { return XCTFail("\(error)") }
        }
        XCTAssertEqual(try a.get(job.id)?.status, .running, "the other server's run decides the outcome")
    }

    func testARunningJobIsRenewedAndNotTakenOver() throws {
        let a = try makeStore(lease: 1)
        let b = try makeStore(lease: 1)
        _ = try a.submit(type: "t", params: params(1), idempotencyKey: nil)
        let lease = try claim(a)
        let deadline = Date(timeIntervalSinceNow: 2.5)
        while Date() < deadline { XCTAssertNil(try b.claimNext(type: "t"), "renewed every third of the lease") }
        XCTAssertEqual(try a.complete(lease, result: Data("1".utf8)).status, .succeeded)
    }

    func testRequeueHandsTheJobToTheNextClaimWithoutCountingTheAttempt() throws {
        let a = try makeStore()
        let b = try makeStore()
        let job = try a.submit(type: "t", params: params(1), idempotencyKey: nil).job
        let lease = try claim(a)
        XCTAssertEqual(try a.requeue(lease).status, .queued)
        let again = try claim(b)
        XCTAssertEqual(again.jobID, job.id)
        XCTAssertEqual(again.attempt, 1)
        XCTAssertEqual(try b.fail(again, message: "boom").errorMessage, "boom")
    }

    func testOnlyServedModelsAreClaimed() throws {
        let a = try makeStore(models: ["m"])
        let other = try makeStore(models: ["other"])
        let job = try a.submit(type: "t", params: params(1, model: "other"), idempotencyKey: nil).job
        XCTAssertNil(try a.claimNext(type: "t"))
        XCTAssertEqual(try claim(other).jobID, job.id)
    }

    func testAWorkerWaitingOnSeveralQueuesTakesOneJobAndGivesTheOthersBack() throws {
        let submitter = try makeStore()
        let worker = try makeStore(claimBlock: 2, models: ["m", "other"])
        XCTAssertNil(try worker.claimNext(type: "t"))  // creates the groups
        let waiting = LockedBox<(JobLease?, TimeInterval)?>(nil)
        let thread = Thread {
            let start = Date()
            let lease = try? worker.claimNext(type: "t")
            waiting.set((lease, Date().timeIntervalSince(start)))
        }
        thread.start()
        Thread.sleep(forTimeInterval: 0.3)
        let first = try submitter.submit(type: "t", params: params(1, model: "other"), idempotencyKey: nil).job
        pollUntil(5, "the waiting claim to return") { waiting.value != nil }
        XCTAssertEqual(waiting.value?.0?.jobID, first.id, "a job submitted on another server wakes a blocked worker")
        XCTAssertLessThan(waiting.value?.1 ?? 9, 1.9)

        let second = try submitter.submit(type: "t", params: params(2, model: "m"), idempotencyKey: nil).job
        let third = try submitter.submit(type: "t", params: params(3, model: "other"), idempotencyKey: nil).job
        let a = try claim(worker)
        let b = try claim(worker)
        XCTAssertEqual(Set([a.jobID, b.jobID]), [second.id, third.id], "the job given back is claimed next")
        XCTAssertEqual(a.attempt, 1)
        XCTAssertEqual(b.attempt, 1)
    }

    func testConsumersOfGoneProcessesAreForgottenUnlessTheyHoldJobs() throws {
        let client = RedisClient(url: redis.url)
        defer { client.close() }
        let queue = "octavo:queue:t:m"
        try client.send("XGROUP", "CREATE", queue, RedisJobStore.group, "0", "MKSTREAM")
        try client.send("XGROUP", "CREATECONSUMER", queue, RedisJobStore.group, "gone-idle")
        try client.send("XADD", queue, "*", "id", JobID.random().rawValue)
        try client.send("XREADGROUP", "GROUP", RedisJobStore.group, "gone-holding", "COUNT", "1", "STREAMS", queue, ">")
        Thread.sleep(forTimeInterval: 0.3)
        let store = try RedisJobStore(
            url: redis.url, configuration: .init(claimBlock: 0.1, forgetConsumersIdleFor: 0.2))
        stores.append(store)
        store.setServedModels(["m"])
        _ = try store.claimNext(type: "t")
        let names = (try client.send("XINFO", "CONSUMERS", queue, RedisJobStore.group).array ?? [])
            .compactMap { $0.fieldMap?["name"].map { String(decoding: $0, as: UTF8.self) } }
        XCTAssertFalse(names.contains("gone-idle"), "\(names)")
        XCTAssertTrue(names.contains("gone-holding"), "a consumer with a pending entry stays: \(names)")
    }

    func testRedisDownMeansUnavailableNeverAccepted() throws {
        let a = try makeStore()
        redis.stop()
        XCTAssertThrowsError(try a.submit(type: "t", params: params(1), idempotencyKey: nil)) { error in
            guard case JobStoreError.unavailable = error else { return XCTFail("\(error)") }
        }
        let health = a.health()
        XCTAssertEqual(health.state, "unavailable")
        XCTAssertTrue(health.error?.contains("refused") == true, health.error ?? "")
        try redis.start()
        XCTAssertTrue(a.health().isOK)
        let job = try a.submit(type: "t", params: params(2), idempotencyKey: nil).job
        XCTAssertEqual(try claim(a).jobID, job.id)
    }

    func testAnOutcomeIsStoredAcrossARedisRestart() throws {
        let a = try makeStore()
        let job = try a.submit(type: "t", params: params(1), idempotencyKey: nil).job
        let lease = try claim(a)
        redis.stop()
        let restart = Thread { [redis] in
            Thread.sleep(forTimeInterval: 0.5)
            try? redis?.start()
        }
        restart.start()
        // complete() retries while Redis comes back (up to a lease).
        XCTAssertEqual(try a.complete(lease, result: Data("7".utf8)).status, .succeeded)
        XCTAssertEqual(try a.get(job.id)?.result, Data("7".utf8))
    }
}
