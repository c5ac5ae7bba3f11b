// A child process for JobCrashRecoveryTests, and nothing else: the tests need a real process
// that owns the job database and dies by SIGKILL (kill -9) in the middle of its work, which
// cannot be simulated inside the test process. Not a product; never shipped.
//
// Usage:
//   jobstore-crash-helper run <db-path>
//       Submits jobs continuously (types "fast" and "slow") and runs them: "fast" jobs finish at
//       once, the first "slow" job streams tokens forever. Prints, one line per event, each only
//       after the fact is committed:
//         ACK <id> <type>   submit returned (the job was acknowledged)
//         DONE <id>         the job is succeeded in the database
//         RUNNING <id>      a slow job is running and has streamed tokens
//       The test kills it with SIGKILL whenever it has seen enough.
//   jobstore-crash-helper poison <db-path>
//       Submits (idempotently) one "poison" job and runs it; the handler kills its own process
//       with SIGKILL, like an executor crash or the OOM killer. Once crash recovery gives up on
//       the job, prints "FINAL <status> <attempts>" and exits 0.
//
// Output is written with unbuffered writes so nothing is lost in a stdio buffer at the kill.

import Foundation
import JobStore

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

func emit(_ line: String) {
    FileHandle.standardOutput.write(Data((line + "\n").utf8))
}

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("jobstore-crash-helper: \(message)\n".utf8))
    exit(2)
}

/// The result a "fast" job must have; the test recomputes it from the params.
func expectedResult(forParams params: Data) -> Data {
    Data("{\"echo\":".utf8) + params + Data("}".utf8)
}

let arguments = CommandLine.arguments
guard arguments.count == 3 else { fail("usage: jobstore-crash-helper run|poison <db-path>") }
let mode = arguments[1]
let databasePath = arguments[2]

let store: JobStore
do {
    store = try JobStore(path: databasePath)
} catch {
    fail("cannot open store: \(error)")
}

switch mode {
case "run":
    let runner = JobRunner(store: store, concurrency: ["fast": 1, "slow": 1]) { job, progress, cancellation in
        if job.type == "fast" { return expectedResult(forParams: job.params) }
        var announced = false
        while true {
            try cancellation.check()
            progress.token("word ")
            if !announced, progress.text.count > 20 {
                emit("RUNNING \(job.id)")
                announced = true
            }
            usleep(2_000)
        }
    }
    do { try runner.start() } catch { fail("cannot start runner: \(error)") }

    // Reports what the database says is done, so DONE never runs ahead of a commit.
    let watcher = Thread {
        var reported = Set<JobID>()
        while true {
            if let done = try? store.list(status: .succeeded, limit: 10_000) {
                for job in done where reported.insert(job.id).inserted { emit("DONE \(job.id)") }
            }
            usleep(5_000)
        }
    }
    watcher.start()

    var index = 0
    while true {
        let type = index % 4 == 1 ? "slow" : "fast"
        let params = Data("{\"n\":\(index)}".utf8)
        // Every third job carries an idempotency key, so keyed rows are part of the check too.
        let key: String? = index % 3 == 0 ? "key-\(index)" : nil
        do {
            let submission = try store.submit(type: type, params: params, idempotencyKey: key)
            emit("ACK \(submission.job.id) \(type)")
        } catch {
            fail("submit failed: \(error)")
        }
        index += 1
        usleep(1_000)
    }

case "poison":
    do {
        _ = try store.submit(type: "poison", params: Data("{}".utf8), idempotencyKey: "the-poison-job")
    } catch {
        fail("submit failed: \(error)")
    }
    let runner = JobRunner(store: store, concurrency: ["poison": 1]) { _, _, _ in
        kill(getpid(), SIGKILL)
        fatalError("unreachable: SIGKILL cannot be caught")
    }
    do { try runner.start() } catch { fail("cannot start runner: \(error)") }
    while true {
        guard let job = try? store.list(limit: 1).first else { fail("the poison job is missing") }
        if job.status.isFinished {
            emit("FINAL \(job.status.rawValue) \(job.attempts)")
            runner.stop(gracePeriod: 1)
            exit(0)
        }
        usleep(2_000)
    }

default:
    fail("unknown mode \(mode)")
}
