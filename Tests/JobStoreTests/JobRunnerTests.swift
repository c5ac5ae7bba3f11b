import Foundation
import XCTest

@testable import JobStore
@testable import ServiceTestSupport

final class JobRunnerTests: JobStoreTestCase {
    private var runners: [JobRunner] = []

    override func tearDownWithError() throws {
        for runner in runners { runner.stop(gracePeriod: 0) }
        runners.removeAll()
        try super.tearDownWithError()
    }

    private func makeRunner(
        _ store: JobStore, concurrency: [String: Int], resultTTL: TimeInterval? = nil,
        sweepInterval: TimeInterval = 300, idlePollInterval: TimeInterval = 30,
        handler: @escaping JobRunner.Handler
    ) -> JobRunner {
        // A long idle poll: the tests must pass on wake-ups alone.
        let configuration = JobRunner.Configuration(
            concurrency: concurrency, resultTTL: resultTTL, sweepInterval: sweepInterval,
            idlePollInterval: idlePollInterval, log: { _ in })
        let runner = JobRunner(store: store, configuration: configuration, handler: handler)
        runners.append(runner)
        return runner
    }

    private func waitForStatus(
        _ store: JobStore, _ id: JobID, _ status: JobStatus, timeout: TimeInterval = 10,
        file: StaticString = #filePath, line: UInt = #line
    ) throws {
        try waitUntil(timeout: timeout, "job \(id) to become \(status)", file: file, line: line) {
            try store.get(id)?.status == status
        }
    }

    func testRunsEachTypeInFIFOOrderAndRecordsResults() throws {
        let store = try openStore()
        let order = LockedArray<String>()
        let ids = try (0..<12).map { index in
            try store.submit(type: index % 3 == 0 ? "translate" : "generate", params: .json("\(index)")).job.id
        }
        let runner = makeRunner(store, concurrency: ["generate": 1, "translate": 1]) { job, _, _ in
            order.append("\(job.type):\(job.params.string)")
            return .json(#"{"n":\#(job.params.string)}"#)
        }
        try runner.start()
        for id in ids { try waitForStatus(store, id, .succeeded) }
        let byType = Dictionary(grouping: order.values, by: { $0.split(separator: ":")[0] })
        XCTAssertEqual(byType["generate"], (0..<12).filter { $0 % 3 != 0 }.map { "generate:\($0)" })
        XCTAssertEqual(byType["translate"], (0..<12).filter { $0 % 3 == 0 }.map { "translate:\($0)" })
        for (index, id) in ids.enumerated() {
            XCTAssertEqual(try store.get(id)?.result, .json(#"{"n":\#(index)}"#))
        }
    }

    func testConcurrencyIsPerType() throws {
        let store = try openStore()
        let gate = DispatchSemaphore(value: 0)
        let gauge = ConcurrencyGauge()
        let runner = makeRunner(store, concurrency: ["slow": 2, "fast": 1]) { job, _, _ in
            gauge.enter(job.type)
            if job.type == "slow" { gate.wait() }
            gauge.leave(job.type)
            return Data()
        }
        try runner.start()
        let slow = try (0..<5).map { _ in try store.submit(type: "slow", params: Data()).job.id }
        try waitUntil(timeout: 10, "two slow jobs running") { try store.counts()[.running] == 2 }
        // Fast jobs are not stuck behind the busy slow pool.
        let fast = try (0..<3).map { _ in try store.submit(type: "fast", params: Data()).job.id }
        for id in fast { try waitForStatus(store, id, .succeeded) }
        XCTAssertEqual(try store.counts()[.running], 2)
        for _ in slow { gate.signal() }
        for id in slow { try waitForStatus(store, id, .succeeded) }
        XCTAssertEqual(gauge.peak, ["slow": 2, "fast": 1])
    }

    func testSubmissionWakesIdleWorkerPromptly() throws {
        let store = try openStore()
        let runner = makeRunner(store, concurrency: ["generate": 1], idlePollInterval: 60) { _, _, _ in Data("ok".utf8)
        }
        try runner.start()
        usleep(50_000)  // the worker is idle and parked
        let started = Date()
        let id = try store.submit(type: "generate", params: Data()).job.id
        try waitForStatus(store, id, .succeeded, timeout: 10)
        XCTAssertLessThan(Date().timeIntervalSince(started), 5, "woken by the submission, not the 60 s poll")
    }

    func testTokensStreamToSubscribersAndResultIsStored() throws {
        let store = try openStore()
        let id = try store.submit(type: "story", params: .json(#"{"prompt":"Once"}"#)).job.id
        let subscription = try store.subscribe(id)
        let runner = makeRunner(store, concurrency: ["story": 1]) { _, progress, _ in
            for word in ["Once", " upon", " a", " time"] {
                progress.token(word)
                usleep(500)
            }
            return .json(#"{"text":"\#(progress.text)"}"#)
        }
        try runner.start()
        let events = collectEvents(subscription)
        XCTAssertEqual(events.first, .queued)
        XCTAssertEqual(events.dropFirst().first, .started(attempt: 1))
        XCTAssertEqual(renderedText(events), "Once upon a time")
        XCTAssertEqual(events.last, .done(result: .json(#"{"text":"Once upon a time"}"#)))
        XCTAssertEqual(try store.get(id)?.status, .succeeded)
    }

    func testHandlerErrorFailsTheJob() throws {
        struct ModelError: Error, CustomStringConvertible { var description: String { "context length exceeded" } }
        let store = try openStore()
        let id = try store.submit(type: "generate", params: Data()).job.id
        let runner = makeRunner(store, concurrency: ["generate": 1]) { _, _, _ in throw ModelError() }
        try runner.start()
        try waitForStatus(store, id, .failed)
        XCTAssertEqual(try store.get(id)?.errorMessage, "context length exceeded")
        XCTAssertEqual(
            collectEvents(try store.subscribe(id), timeout: 1), [.failed(message: "context length exceeded")])
    }

    func testCancelQueuedJobNeverRunsIt() throws {
        let store = try openStore()
        let gate = DispatchSemaphore(value: 0)
        let ran = LockedArray<JobID>()
        let runner = makeRunner(store, concurrency: ["generate": 1]) { job, _, _ in
            ran.append(job.id)
            gate.wait()
            return Data()
        }
        try runner.start()
        let busy = try store.submit(type: "generate", params: .json("1")).job.id
        let victim = try store.submit(type: "generate", params: .json("2")).job.id
        let after = try store.submit(type: "generate", params: .json("3")).job.id
        try waitForStatus(store, busy, .running)
        XCTAssertEqual(try store.cancel(victim).status, .cancelled)
        gate.signal()
        gate.signal()
        try waitForStatus(store, after, .succeeded)
        XCTAssertEqual(ran.values, [busy, after])
        XCTAssertEqual(try store.get(victim)?.status, .cancelled)
    }

    func testCancelRunningJobStopsHandlerAndEndsCancelled() throws {
        let store = try openStore()
        let id = try store.submit(type: "story", params: Data()).job.id
        let subscription = try store.subscribe(id)
        let runner = makeRunner(store, concurrency: ["story": 1]) { _, progress, cancellation in
            while true {
                try cancellation.check()
                progress.token("la ")
                usleep(1_000)
            }
        }
        try runner.start()
        try waitUntil(timeout: 10, "some text") { (try store.get(id)?.partialText?.count ?? 0) > 9 }
        let requested = try store.cancel(id)
        XCTAssertTrue(requested.cancelRequested)
        try waitForStatus(store, id, .cancelled)
        let events = collectEvents(subscription)
        XCTAssertEqual(events.last, .cancelled)
        XCTAssertTrue(renderedText(events).hasPrefix("la la la"))
        XCTAssertNil(try store.get(id)?.errorMessage)
        // The store records the outcome just before the worker forgets the job.
        waitUntil(timeout: 10, "worker to let go") { runner.runningJobIDs.isEmpty }
    }

    func testStopWaitsForJobsThatFinishWithinGrace() throws {
        let store = try openStore()
        let id = try store.submit(type: "generate", params: Data()).job.id
        let started = DispatchSemaphore(value: 0)
        let runner = makeRunner(store, concurrency: ["generate": 1]) { _, _, _ in
            started.signal()
            usleep(150_000)
            return .json(#""finished""#)
        }
        try runner.start()
        XCTAssertEqual(started.wait(timeout: .now() + 10), .success)
        let report = runner.stop(gracePeriod: 10)
        XCTAssertEqual(report.requeued, [])
        XCTAssertTrue(store.isClosed)
        let reopened = try openStore()
        XCTAssertEqual(try reopened.get(id)?.status, .succeeded)
        XCTAssertEqual(try reopened.get(id)?.result, .json(#""finished""#))
    }

    func testStopRequeuesWhatCannotFinishAndDropsItsLateOutcome() throws {
        let store = try openStore()
        let stuck = try store.submit(type: "generate", params: .json("1")).job.id
        let waiting = try store.submit(type: "generate", params: .json("2")).job.id
        let started = DispatchSemaphore(value: 0)
        let release = DispatchSemaphore(value: 0)
        let finished = DispatchSemaphore(value: 0)
        let sawCancellation = LockedArray<Bool>()
        let runner = makeRunner(store, concurrency: ["generate": 1]) { _, progress, cancellation in
            progress.token("half a story")
            started.signal()
            release.wait()  // ignores the flag until the test lets it go
            sawCancellation.append(cancellation.isCancelled)
            finished.signal()
            return .json(#""late""#)
        }
        try runner.start()
        XCTAssertEqual(started.wait(timeout: .now() + 10), .success)
        let subscription = try store.subscribe(stuck)
        let report = runner.stop(gracePeriod: 0.1)
        XCTAssertEqual(report.requeued, [stuck])
        XCTAssertTrue(store.isClosed)
        XCTAssertEqual(subscription.next(timeout: 1), .event(.started(attempt: 1)))
        XCTAssertEqual(subscription.next(timeout: 1), .event(.token("half a story")))
        XCTAssertEqual(subscription.next(timeout: 1), .event(.queued))
        XCTAssertEqual(subscription.next(timeout: 1), .ended)

        release.signal()
        XCTAssertEqual(finished.wait(timeout: .now() + 10), .success)
        XCTAssertEqual(sawCancellation.values, [true])

        let reopened = try openStore()
        let job = try XCTUnwrap(reopened.get(stuck))
        XCTAssertEqual(job.status, .queued, "the late result must not be recorded")
        XCTAssertEqual(job.attempts, 0, "a graceful stop does not count as an attempt")
        XCTAssertEqual(try reopened.get(waiting)?.status, .queued)
        XCTAssertEqual(try reopened.recoverUnfinished(), .init())
        // Next start: both run, in their original order.
        let order = LockedArray<JobID>()
        let next = makeRunner(reopened, concurrency: ["generate": 1]) { job, _, _ in
            order.append(job.id)
            return .json(#""again""#)
        }
        try next.start()
        try waitForStatus(reopened, waiting, .succeeded)
        XCTAssertEqual(order.values, [stuck, waiting])
    }

    /// Stopping at arbitrary moments (workers idle, claiming, running) must leave every job either
    /// finished or queued with its attempt given back — never `running` with nobody running it.
    func testStopAtAnyMomentLeavesNoJobRunning() throws {
        var store = try openStore()
        var ids: [JobID] = []
        for round in 0..<10 {
            ids += try (0..<15).map { _ in try store.submit(type: "generate", params: Data()).job.id }
            let runner = makeRunner(store, concurrency: ["generate": 3]) { _, progress, _ in
                progress.token("x")
                usleep(UInt32.random(in: 0...2_000))
                return Data()
            }
            try runner.start()
            usleep(UInt32(round * 700))
            runner.stop(gracePeriod: 0.001)
            store = try openStore()
            let counts = try store.counts()
            XCTAssertNil(counts[.running], "round \(round): \(counts)")
            XCTAssertEqual(counts.values.reduce(0, +), ids.count)
            for job in try store.list(status: .queued, limit: 1_000) { XCTAssertEqual(job.attempts, 0) }
        }
    }

    func testStartRecoversJobsLeftRunning() throws {
        let store = try openStore()
        let orphan = try store.submit(type: "generate", params: .json("1")).job.id
        _ = try store.claimNext(type: "generate")
        let reopened = try reopen(store)  // as if the process had died
        let runner = makeRunner(reopened, concurrency: ["generate": 1]) { job, _, _ in .json("\(job.attempts)") }
        let report = try runner.start()
        XCTAssertEqual(report.requeued, [orphan])
        try waitForStatus(reopened, orphan, .succeeded)
        XCTAssertEqual(try reopened.get(orphan)?.result, .json("2"))
        XCTAssertThrowsError(try runner.start(), "a runner starts once")
    }

    func testJobsOfUnservedTypesStayQueued() throws {
        let store = try openStore()
        let served = try store.submit(type: "generate", params: Data()).job.id
        let unserved = try store.submit(type: "image", params: Data()).job.id
        let runner = makeRunner(store, concurrency: ["generate": 1]) { _, _, _ in Data() }
        try runner.start()
        try waitForStatus(store, served, .succeeded)
        usleep(20_000)
        XCTAssertEqual(try store.get(unserved)?.status, .queued)
    }

    func testSweepExpiresOldResults() throws {
        let clock = FakeClock()
        let store = try openStore(.init(clock: { clock.now }))
        let old = try store.submit(type: "generate", params: Data()).job.id
        try store.complete(store.markRunning(old), result: Data())
        clock.advance(by: 7200)
        let fresh = try store.submit(type: "generate", params: Data()).job.id
        try store.complete(store.markRunning(fresh), result: Data())
        let runner = makeRunner(store, concurrency: [:], resultTTL: 3600, sweepInterval: 0.05) { _, _, _ in Data() }
        try runner.start()
        try waitUntil(timeout: 10, "old result swept") { try store.get(old) == nil }
        XCTAssertNotNil(try store.get(fresh))
    }

    func testInvalidConcurrencyIsRejected() throws {
        let store = try openStore()
        let runner = makeRunner(store, concurrency: ["generate": 0]) { _, _, _ in Data() }
        XCTAssertThrowsError(try runner.start())
    }
}

/// Counts handlers running at once, per job type.
private final class ConcurrencyGauge: @unchecked Sendable {
    private let lock = NSLock()
    private var active: [String: Int] = [:]
    private var peaks: [String: Int] = [:]

    func enter(_ type: String) {
        lock.lock()
        active[type, default: 0] += 1
        peaks[type] = max(peaks[type] ?? 0, active[type] ?? 0)
        lock.unlock()
    }

    func leave(_ type: String) {
        lock.lock()
        active[type, default: 0] -= 1
        lock.unlock()
    }

    var peak: [String: Int] {
        lock.lock()
        defer { lock.unlock() }
        return peaks
    }
}
