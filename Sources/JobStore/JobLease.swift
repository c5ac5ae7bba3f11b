import Foundation
import HTTPServer
import Synchronization

/// Set when a running job should stop: a client cancelled it, or the server is shutting down
/// and its grace period ran out. Executors poll it between tokens.
public final class CancellationFlag: Sendable {
    private let cancelled = Atomic(false)

    public init() {}

    public var isCancelled: Bool { cancelled.load(ordering: .acquiring) }

    /// Throws `CancellationError` once cancelled: `try cancellation.check()` in a token loop.
    public func check() throws {
        if isCancelled { throw CancellationError() }
    }

    func cancel() { cancelled.store(true, ordering: .releasing) }
}

/// Where an executor reports the text it generates. Cheap to call for every token: the text is
/// kept in memory (for `GET` while running) and pushed to SSE subscribers, never written to disk.
public final class ProgressReporter: Sendable {
    public let jobID: JobID
    private let append: @Sendable (String) -> Void
    private let currentText: @Sendable () -> String
    private let addParagraph: @Sendable (Data) -> Void

    /// Reports into the in-process event hub (the SQLite store).
    convenience init(hub: JobEventHub, jobID: JobID, leaseToken: UInt64) {
        self.init(
            jobID: jobID, append: { hub.appendText(jobID, lease: leaseToken, $0) },
            text: { hub.text(of: jobID, lease: leaseToken) ?? "" },
            paragraph: { hub.appendParagraph(jobID, lease: leaseToken, $0) })
    }

    /// Reports wherever the store keeps progress (`append` and `paragraph` must drop what they
    /// get once the lease is gone).
    init(
        jobID: JobID, append: @escaping @Sendable (String) -> Void, text: @escaping @Sendable () -> String,
        paragraph: @escaping @Sendable (Data) -> Void
    ) {
        self.jobID = jobID
        self.append = append
        self.currentText = text
        self.addParagraph = paragraph
    }

    /// Appends newly generated text. Ignored once this lease no longer owns the job.
    public func token(_ delta: String) { append(delta) }

    /// Reports one finished story paragraph (its JSON), a `paragraph` event for subscribers. A job
    /// reports text or paragraphs, not both. Ignored once this lease no longer owns the job.
    public func paragraph(_ json: Data) { addParagraph(json) }

    /// The text reported so far under this lease.
    public var text: String { currentText() }
}

/// A worker's claim on one running job, from `JobStore.claimNext` or `markRunning` until it
/// passes the lease back to `complete`, `fail` or `requeue`.
///
/// Each lease is unique to one claim in one store instance. If the job is taken away meanwhile
/// (re-queued at shutdown, then perhaps claimed again) the old lease's calls throw
/// `JobStoreError.leaseLost` and its tokens are dropped, instead of overwriting the newer run.
/// Leases live in memory only: after a restart every lease is gone and `recoverUnfinished`
/// deals with the rows.
public struct JobLease: Sendable {
    /// The job as it was when claimed (status `running`, `attempts` counting this one).
    public let job: Job
    public let cancellation: CancellationFlag
    public let progress: ProgressReporter
    /// Tells this claim apart from any later claim of the same job.
    let token: UInt64

    public var jobID: JobID { job.id }
    public var attempt: Int { job.attempts }
}
