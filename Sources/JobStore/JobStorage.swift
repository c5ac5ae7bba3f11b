import Foundation
import HTTPServer

/// Where durable jobs live: what the HTTP handlers and the `JobRunner` need from a store.
///
/// Two stores implement it: `JobStore` (one process, a SQLite file) and `RedisJobStore` (any
/// number of processes on any number of machines sharing one Redis). Both promise the same:
/// a job is stored before `submit` returns, a lease is exclusive (a worker whose lease is gone
/// gets `leaseLost` and its outcome is dropped), a job has exactly one final state, and
/// cancel wins over a result.
public protocol JobStorage: AnyObject, Sendable {
    // MARK: Handlers

    /// Records a new job (or returns the one already submitted under `idempotencyKey`; a
    /// different type or params under the same key throws `idempotencyConflict`).
    func submit(type: String, params: Data, idempotencyKey: String?) throws -> Submission
    /// The job, or nil when unknown or expired.
    func get(_ id: JobID) throws -> Job?
    /// Jobs in submission order (oldest first unless `newestFirst`), optionally of one status.
    func list(status: JobStatus?, limit: Int, newestFirst: Bool) throws -> [Job]
    /// Cancels a queued job now, or asks a running one to stop; returns the job afterwards.
    @discardableResult
    func cancel(_ id: JobID) throws -> Job
    /// The job's current state, then its live events until the final one.
    func subscribe(_ id: JobID) throws -> JobSubscription

    // MARK: Workers

    /// Claims the next job of `type` for this process, or nil when there is none.
    func claimNext(type: String) throws -> JobLease?
    @discardableResult
    func complete(_ lease: JobLease, result: Data) throws -> Job
    @discardableResult
    func fail(_ lease: JobLease, message: String) throws -> Job
    /// Gives a leased job back to the queue without counting the attempt.
    @discardableResult
    func requeue(_ lease: JobLease) throws -> Job
    /// At startup: deals with jobs a dead process left running (where the store can know).
    @discardableResult
    func recoverUnfinished() throws -> JobStore.RecoveryReport
    /// Deletes finished jobs older than `age` (a no-op where the store expires them itself).
    @discardableResult
    func expire(olderThan age: TimeInterval) throws -> Int

    /// A counter that changes whenever work may have appeared: read it before `claimNext`,
    /// then pass it to `waitForWork` so a submission in between is not missed.
    var workGeneration: UInt64 { get }
    /// Waits until work may be available (or `timeout`).
    func waitForWork(after generation: UInt64, timeout: TimeInterval)
    /// Wakes every waiting worker (the runner is stopping).
    func wakeWorkers()

    /// Whether the store can take jobs right now, for `/health`.
    func health() -> JobStorageHealth
    /// Releases the store; later calls throw `JobStoreError.closed`.
    func close()
}

/// What `/health` says about the job store.
public struct JobStorageHealth: Sendable, Equatable, Encodable {
    /// "sqlite" or "redis".
    public var backend: String
    /// Where: the database path, or the Redis URL without its password.
    public var location: String
    /// "ok", "unavailable" (jobs cannot be submitted or run now) or "closed".
    public var state: String
    /// Why, when not ok.
    public var error: String?
    /// What the store repaired on its own while serving (a deleted SQLite file restored); nil if nothing.
    public var repairs: [String]?

    public init(backend: String, location: String, state: String, error: String? = nil, repairs: [String]? = nil) {
        self.backend = backend
        self.location = location
        self.state = state
        self.error = error
        self.repairs = repairs
    }

    public var isOK: Bool { state == "ok" }
}
