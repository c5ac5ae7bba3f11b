import Foundation
import XCTest

@testable import JobStore
@testable import ServiceTestSupport

#if canImport(Glibc)
    import Glibc
#endif

/// Crash recovery with real processes: `jobstore-crash-helper` (Tests/JobStoreCrashHelper)
/// owns the database and is killed with SIGKILL mid-run; the test then reopens the file.
final class JobCrashRecoveryTests: JobStoreTestCase {
    /// Must match the helper's `expectedResult(forParams:)`.
    private func expectedResult(forParams params: Data) -> Data {
        Data("{\"echo\":".utf8) + params + Data("}".utf8)
    }

    func testKill9MidRunLosesNoAcknowledgedJob() throws {
        let helper = try HelperProcess(arguments: ["run", databasePath])
        // Enough history that the kill lands with jobs in every state: finished, running
        // (streaming tokens), queued, and a submission in flight.
        let ready = helper.waitForOutput(timeout: 60) { lines in
            lines.count(where: { $0.hasPrefix("ACK ") }) >= 40
                && lines.count(where: { $0.hasPrefix("DONE ") }) >= 10
                && lines.contains(where: { $0.hasPrefix("RUNNING ") })
        }
        helper.kill9()
        let lines = helper.waitForExit(timeout: 30)
        XCTAssertTrue(ready, "the helper did not get going; output:\n\(lines.joined(separator: "\n"))")
        XCTAssertEqual(helper.terminationSignal, SIGKILL)

        var acknowledged: [(JobID, String)] = []
        var done: [JobID] = []
        var running: [JobID] = []
        for line in lines {
            let fields = line.split(separator: " ").map(String.init)
            guard fields.count >= 2, let id = JobID(rawValue: fields[1]) else { continue }
            switch fields[0] {
            case "ACK": acknowledged.append((id, fields[2]))
            case "DONE": done.append(id)
            case "RUNNING": running.append(id)
            default: break
            }
        }
        let slowID = try XCTUnwrap(running.first)

        // The kernel released the dead process's lock: the database opens (and passes quick_check).
        let store = try openStore()
        for (id, type) in acknowledged {
            let job = try XCTUnwrap(store.get(id), "acknowledged job \(id) was lost")
            XCTAssertEqual(job.type, type)
            XCTAssertTrue(job.params.string.hasPrefix("{\"n\":"), job.params.string)
        }
        for id in done {
            let job = try XCTUnwrap(store.get(id))
            XCTAssertEqual(job.status, .succeeded)
            XCTAssertEqual(job.result, expectedResult(forParams: job.params), "result of \(id) damaged")
        }
        XCTAssertEqual(try store.get(slowID)?.status, .running, "still marked running by the dead process")
        XCTAssertGreaterThanOrEqual(try store.list(limit: 100_000).count, acknowledged.count)

        // Restart: the runner recovers the orphans and runs everything unfinished to completion.
        let runner = JobRunner(store: store, configuration: .init(concurrency: ["fast": 2, "slow": 1], log: { _ in })) {
            job, progress, _ in
            progress.token("again")
            return Data("{\"echo\":".utf8) + job.params + Data("}".utf8)
        }
        let report = try runner.start()
        XCTAssertTrue(report.requeued.contains(slowID))
        XCTAssertEqual(report.failed, [])
        try waitUntil(timeout: 30, "every recovered job to finish") {
            let counts = try store.counts()
            return counts[.queued] == nil && counts[.running] == nil
        }
        runner.stop(gracePeriod: 1, closeStore: false)

        let all = try store.list(limit: 100_000)
        let counts = try store.counts()
        XCTAssertTrue(all.allSatisfy { $0.status == .succeeded }, "\(counts)")
        for job in all { XCTAssertEqual(job.result, expectedResult(forParams: job.params)) }
        XCTAssertEqual(try store.get(slowID)?.attempts, 2, "killed once, then run again")
        for id in done { XCTAssertEqual(try store.get(id)?.attempts, 1, "finished jobs were not run again") }

        // Idempotency keys survived too: a client retrying after the crash gets its job back.
        let keyed = all.filter { $0.idempotencyKey != nil }
        XCTAssertFalse(keyed.isEmpty)
        for job in keyed.prefix(5) {
            let retry = try store.submit(type: job.type, params: job.params, idempotencyKey: job.idempotencyKey)
            XCTAssertFalse(retry.created)
            XCTAssertEqual(retry.job.id, job.id)
        }
    }

    func testJobThatKillsItsProcessFailsAfterMaxAttempts() throws {
        var kills = 0
        var finalLine: String?
        for _ in 1...6 where finalLine == nil {
            let helper = try HelperProcess(arguments: ["poison", databasePath])
            let lines = helper.waitForExit(timeout: 30)
            if helper.terminationSignal == SIGKILL {
                kills += 1
            } else {
                XCTAssertEqual(helper.exitStatus, 0, lines.joined(separator: "\n"))
                finalLine = lines.first { $0.hasPrefix("FINAL ") }
                XCTAssertNotNil(finalLine, lines.joined(separator: "\n"))
            }
        }
        XCTAssertEqual(kills, 3, "default maxAttempts is 3")
        XCTAssertEqual(finalLine, "FINAL failed 3")

        let store = try openStore()
        let job = try XCTUnwrap(store.list().first)
        XCTAssertEqual(try store.list().count, 1, "the idempotency key kept it one job across restarts")
        XCTAssertEqual(job.status, .failed)
        XCTAssertEqual(job.attempts, 3)
        XCTAssertTrue(job.errorMessage?.contains("Gave up after 3 attempts") == true, job.errorMessage ?? "nil")
    }
}

/// Runs `jobstore-crash-helper` with its stdout captured line by line.
final class HelperProcess: @unchecked Sendable {
    private let process = Process()
    private let output = Pipe()
    private let condition = NSCondition()
    private var lines: [String] = []
    private var reachedEOF = false

    init(arguments: [String]) throws {
        process.executableURL = try Self.executable()
        process.arguments = arguments
        process.standardOutput = output
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let reader = Thread { [self] in readLoop() }
        reader.name = "crash-helper-reader"
        reader.start()
    }

    /// The helper is built next to the test bundle (the test target depends on it).
    static func executable() throws -> URL {
        let name = "jobstore-crash-helper"
        var directories: [URL] = []
        #if os(macOS)
            for bundle in Bundle.allBundles where bundle.bundlePath.hasSuffix(".xctest") {
                directories.append(bundle.bundleURL.deletingLastPathComponent())
            }
        #endif
        if let path = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") {
            directories.append(URL(fileURLWithPath: path).deletingLastPathComponent())
        }
        directories.append(Bundle.main.bundleURL)
        directories.append(URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent())
        for directory in directories {
            let candidate = directory.appendingPathComponent(name)
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
        }
        // The test target depends on the helper, so it is always built: not finding it is a failure.
        XCTFail("cannot find the \(name) executable in \(directories.map(\.path))")
        throw CocoaError(.fileNoSuchFile)
    }

    private func readLoop() {
        let handle = output.fileHandleForReading
        var pending = Data()
        while true {
            let chunk = handle.availableData
            condition.lock()
            if chunk.isEmpty {
                if !pending.isEmpty { lines.append(String(decoding: pending, as: UTF8.self)) }
                reachedEOF = true
                condition.broadcast()
                condition.unlock()
                return
            }
            pending.append(chunk)
            while let newline = pending.firstIndex(of: UInt8(ascii: "\n")) {
                lines.append(String(decoding: pending[pending.startIndex..<newline], as: UTF8.self))
                pending.removeSubrange(pending.startIndex...newline)
            }
            condition.broadcast()
            condition.unlock()
        }
    }

    /// Waits until the output so far satisfies `predicate`; false on timeout or early exit.
    func waitForOutput(timeout: TimeInterval, _ predicate: ([String]) -> Bool) -> Bool {
        let deadline = Date(timeIntervalSinceNow: timeout)
        condition.lock()
        defer { condition.unlock() }
        while !predicate(lines) {
            if reachedEOF || !condition.wait(until: deadline) { return predicate(lines) }
        }
        return true
    }

    func kill9() {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
    }

    /// Waits for the process to exit (killing it after `timeout`) and returns all its output.
    func waitForExit(timeout: TimeInterval) -> [String] {
        let deadline = Date(timeIntervalSinceNow: timeout)
        while process.isRunning, Date() < deadline { usleep(5_000) }
        if process.isRunning {
            XCTFail("the helper did not exit within \(timeout) s; killing it")
            kill9()
        }
        process.waitUntilExit()
        condition.lock()
        while !reachedEOF { _ = condition.wait(until: Date(timeIntervalSinceNow: 10)) }
        defer { condition.unlock() }
        return lines
    }

    /// The signal that ended the process, if it was killed by one.
    var terminationSignal: Int32? {
        process.terminationReason == .uncaughtSignal ? process.terminationStatus : nil
    }

    var exitStatus: Int32? {
        process.terminationReason == .exit ? process.terminationStatus : nil
    }
}
