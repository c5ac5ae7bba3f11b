import Foundation

/// Set when a running job should stop: a client cancelled it, or the server is shutting down
/// and its grace period ran out. Executors poll it between tokens.
public final class CancellationFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var cancelled = false

    public init() {}

    public var isCancelled: Bool {
        lock.lock()
        defer { lock.unlock() }
        return cancelled
    }

    /// Throws `CancellationError` once cancelled: `try cancellation.check()` in a token loop.
    public func check() throws {
        if isCancelled { throw CancellationError() }
    }

    func cancel() {
        lock.lock()
        cancelled = true
        lock.unlock()
    }
}

/// Where an executor reports the text it generates. Cheap to call for every token: the text is
/// kept in memory (for `GET` while running) and pushed to SSE subscribers, never written to disk.
public final class ProgressReporter: @unchecked Sendable {
    private let hub: JobEventHub
    public let jobID: JobID
    private let attempt: Int

    init(hub: JobEventHub, jobID: JobID, attempt: Int) {
        self.hub = hub
        self.jobID = jobID
        self.attempt = attempt
    }

    /// Appends newly generated text. Ignored once this attempt no longer owns the job.
    public func token(_ delta: String) {
        hub.appendText(jobID, attempt: attempt, delta)
    }

    /// The text reported so far by this attempt.
    public var text: String { hub.text(of: jobID, attempt: attempt) ?? "" }
}

/// A worker's claim on one running job, from `JobStore.claimNext` or `markRunning` until it
/// passes the lease back to `complete`, `fail` or `requeue`.
///
/// The lease names the attempt it was issued for. If the job is taken away meanwhile (re-queued
/// at shutdown, or by crash recovery) those calls throw `JobStoreError.leaseLost` instead of
/// overwriting the newer attempt.
public struct JobLease: Sendable {
    /// The job as it was when claimed (status `running`, `attempts` counting this one).
    public let job: Job
    public let cancellation: CancellationFlag
    public let progress: ProgressReporter

    public var jobID: JobID { job.id }
    public var attempt: Int { job.attempts }
}
