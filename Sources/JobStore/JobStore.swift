import CSQLite
import Foundation
import HTTPServer

/// The durable job store: every accepted job is a row in a SQLite database (WAL mode), and
/// every state change is committed before the call that made it returns.
///
/// HTTP handlers call `submit`, `get`, `list`, `cancel` and `subscribe`; workers (normally via
/// `JobRunner`) call `claimNext`, `complete`, `fail`, `requeue`; the server calls
/// `recoverUnfinished` at startup and `expire` periodically.
///
/// Threading: safe to use from any number of threads. There is one SQLite connection and every
/// operation holds `lock` for its duration. SQLite admits a single writer per database anyway,
/// and our operations are a few indexed row reads or writes each (tens of microseconds), so a
/// connection per thread would add SQLITE_BUSY retries and stale-read questions for no
/// throughput. It also makes read-then-write sequences (idempotency check, claim, cancel)
/// atomic without relying on SQLite locking alone.
///
/// Sendable by hand: configuration is set before the store is shared; the SQLite handle is only used under
/// the store's lock.
public final class JobStore: JobStorage, @unchecked Sendable {
    /// How hard commits try to reach the disk.
    public enum Durability: Sendable {
        /// `synchronous=NORMAL` (the default): each commit is written into the WAL file before it
        /// returns, but not fsync'ed. The bytes are then in the kernel's page cache, which the
        /// kernel writes out whatever happens to the process, so a job acknowledged with 202
        /// survives a crash or `kill -9` of the server. Only an OS crash or power loss can lose
        /// the last commits (it cannot corrupt the database). That trade suits a queue of
        /// inference jobs: every state change (submit, claim, finish) would otherwise wait for a
        /// disk flush.
        case processCrash
        /// `synchronous=FULL`: fsync the WAL on every commit, so a 202 survives power loss too,
        /// at the cost of a disk flush per state change.
        case powerLoss
    }

    public struct Configuration: Sendable {
        public var durability: Durability
        /// How long to wait for a lock held by another connection (e.g. an operator's sqlite3 shell).
        public var busyTimeout: TimeInterval
        /// A job whose worker died this many times (the process crashed or was killed while
        /// running it) is failed by `recoverUnfinished` instead of queued again: it is probably
        /// what crashes the process.
        public var maxAttempts: Int
        /// Run `PRAGMA quick_check` when opening, to refuse a damaged file at startup rather than
        /// fail on some later query. Linear in the database size; the TTL keeps that small.
        public var checkIntegrityOnOpen: Bool
        /// The clock for timestamps and expiry (tests inject a fake one).
        public var clock: @Sendable () -> Date
        /// Where the store reports what it repaired on its own (a deleted file restored).
        public var log: (@Sendable (String) -> Void)?

        public init(
            durability: Durability = .processCrash, busyTimeout: TimeInterval = 5, maxAttempts: Int = 3,
            checkIntegrityOnOpen: Bool = true, clock: @escaping @Sendable () -> Date = { Date() }
        ) {
            self.durability = durability
            self.busyTimeout = busyTimeout
            self.maxAttempts = maxAttempts
            self.checkIntegrityOnOpen = checkIntegrityOnOpen
            self.clock = clock
        }
    }

    /// What `recoverUnfinished` did with the jobs a previous process left running.
    public struct RecoveryReport: Sendable, Equatable {
        /// Put back in the queue; they run again from scratch.
        public var requeued: [JobID] = []
        /// Failed for good: they reached `maxAttempts`.
        public var failed: [JobID] = []
        /// A cancel was requested before the crash, so they end cancelled rather than re-run.
        public var cancelled: [JobID] = []
    }

    public let path: String
    public let configuration: Configuration

    let events = JobEventHub()
    let queueSignal = QueueSignal()

    private let lock = NSLock()
    private var database: SQLiteDatabase?
    private var fileLock: DatabaseFileLock?
    /// The file the connection writes; compared with what `path` names before each operation.
    private var openedFile: DatabaseFileIdentity?
    /// The last failure of the disk or the file (full, locked, replaced...), until a write succeeds.
    private var failure: JobStoreError?
    /// What the store repaired on its own (a deleted file restored), for `/health` and the log.
    private var repairs: [String] = []
    /// Jobs running under a lease issued by this store instance: crash recovery must not touch
    /// them, and `cancel` sets their flags.
    private var activeLeases: [JobID: JobLease] = [:]
    private var lastLeaseToken: UInt64 = 0

    static let maxTypeLength = 64
    static let maxIdempotencyKeyLength = 255

    /// Opens (creating if needed) the job database at `path` and brings its schema up to date.
    ///
    /// Throws `JobStoreError` when the file cannot be opened or written, is not a job database,
    /// is corrupt, comes from a newer version, or is already open in another process.
    public init(path: String, configuration: Configuration = Configuration()) throws {
        guard !path.isEmpty, path != ":memory:", !path.hasPrefix("file:") else {
            throw JobStoreError.invalidArgument(
                "the job store needs a plain file path (in-memory databases cannot "
                    + "use WAL)")
        }
        guard configuration.maxAttempts >= 1 else {
            throw JobStoreError.invalidArgument("maxAttempts must be at least 1")
        }
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue {
            // Checked before creating `<path>.lock` next to it, which would be left behind.
            throw JobStoreError.cannotOpen(path: path, reason: "it is a directory; give the path of a database file")
        }
        self.path = path
        self.configuration = configuration
        let fileLock = try DatabaseFileLock(databasePath: path)
        let database: SQLiteDatabase
        do {
            database = try SQLiteDatabase(path: path)
        } catch {
            throw Self.translate(error, path: path)
        }
        do {
            try Self.configure(database, configuration: configuration)
            try Self.migrate(database)
        } catch {
            database.close()
            throw Self.translate(error, path: path)
        }
        self.database = database
        self.fileLock = fileLock
        openedFile = DatabaseFileIdentity(path: path)
    }

    deinit { close() }

    // MARK: - Opening

    private static func configure(_ db: SQLiteDatabase, configuration: Configuration) throws {
        if db.isReadOnly {
            throw JobStoreError.readOnly(path: db.path, reason: "the file is write-protected")
        }
        try db.setBusyTimeout(milliseconds: Int32(clamping: Int((configuration.busyTimeout * 1000).rounded())))
        // The first statement that reads the file: a file that is not a database fails here.
        let mode = try db.scalar("PRAGMA journal_mode = WAL")
        guard mode == .text("wal") else {
            throw JobStoreError.cannotOpen(
                path: db.path,
                reason: "SQLite refused WAL mode (journal_mode is "
                    + "\(mode)); the file system may not support the shared memory WAL needs")
        }
        switch configuration.durability {
        case .processCrash: try db.execute("PRAGMA synchronous = NORMAL")
        case .powerLoss: try db.execute("PRAGMA synchronous = FULL")
        }
        // Checkpoints truncate the WAL back to this size, so one burst does not leave a huge file.
        try db.execute("PRAGMA journal_size_limit = 4194304")
        // No foreign keys: the schema is a single table.
        if configuration.checkIntegrityOnOpen {
            let problems = try db.query("PRAGMA quick_check") { $0.text(at: 0) ?? "" }
            if problems != ["ok"] {
                throw JobStoreError.corrupt(path: db.path, detail: problems.prefix(3).joined(separator: "; "))
            }
        }
    }

    private static func migrate(_ db: SQLiteDatabase) throws {
        guard case .integer(let version64) = try db.scalar("PRAGMA user_version") else { return }
        let version = Int(version64)
        if version > JobSchema.latestVersion {
            throw JobStoreError.schemaTooNew(path: db.path, found: version, supported: JobSchema.latestVersion)
        }
        let applicationID = try db.scalar("PRAGMA application_id")
        if version == 0 {
            // Version 0 is either a brand-new file or somebody else's database.
            let tables = try db.scalar("SELECT count(*) FROM sqlite_master")
            if tables != .integer(0)
                || (applicationID != .integer(0) && applicationID != .integer(Int64(JobSchema.applicationID)))
            {
                throw JobStoreError.foreignDatabase(path: db.path)
            }
        } else if applicationID != .integer(Int64(JobSchema.applicationID)) {
            throw JobStoreError.foreignDatabase(path: db.path)
        }
        for migration in JobSchema.migrations where migration.version > version {
            try db.transaction {
                try db.execute(migration.sql)
                try db.execute("PRAGMA application_id = \(JobSchema.applicationID)")
                try db.execute("PRAGMA user_version = \(migration.version)")
            }
        }
    }

    /// Maps SQLite failures to errors that say what to do; `JobStoreError`s pass through.
    static func translate(_ error: Error, path: String) -> JobStoreError {
        if let error = error as? JobStoreError { return error }
        guard let error = error as? SQLiteError else {
            return .sqlite(code: -1, message: String(describing: error), sql: nil)
        }
        let reason =
            error.systemErrno != 0
            ? "\(error.message) (\(String(cString: strerror(error.systemErrno))))" : error.message
        switch error.primaryCode {
        case SQLITE_NOTADB: return .notADatabase(path: path)
        case SQLITE_CORRUPT: return .corrupt(path: path, detail: error.message)
        case SQLITE_FULL: return .diskFull(path: path)
        case SQLITE_BUSY, SQLITE_LOCKED: return .busy(path: path)
        case SQLITE_READONLY: return .readOnly(path: path, reason: reason)
        case SQLITE_CANTOPEN: return .cannotOpen(path: path, reason: reason)
        default: return .sqlite(code: error.code, message: reason, sql: error.sql)
        }
    }

    /// Runs `body` with the connection under the store lock, translating SQLite errors and
    /// remembering failures of the disk or the file for `health()`.
    private func withDatabase<T>(_ body: (SQLiteDatabase) throws -> T) throws -> T {
        lock.lock()
        defer { lock.unlock() }
        try guardFileLocked()
        guard let database else { throw JobStoreError.closed }
        let changesBefore = database.totalChanges
        do {
            let result = try body(database)
            if database.totalChanges != changesBefore { failure = nil }
            return result
        } catch {
            let translated = Self.translate(error, path: path)
            if Self.isEnvironmental(translated) { failure = translated }
            throw translated
        }
    }

    /// Failures that come from the disk or the file, not from the caller or the job.
    private static func isEnvironmental(_ error: JobStoreError) -> Bool {
        switch error {
        case .diskFull, .busy, .readOnly, .corrupt, .cannotOpen, .notADatabase, .sqlite, .fileReplaced: return true
        default: return false
        }
    }

    /// Checks that `path` still names the open file. Deleted: writes a copy of the live database
    /// there (`VACUUM INTO`, which reads through the connection, WAL included) and reopens on it,
    /// so accepted jobs survive the process. Replaced by another file: saves the live database
    /// beside it once and refuses every operation (`fileReplaced`). Called with `lock` held.
    private func guardFileLocked() throws {
        guard let database, let opened = openedFile else { return }
        if case .fileReplaced? = failure { throw failure! }
        let current = DatabaseFileIdentity(path: path)
        if current == opened { return }
        let stamp = Int(configuration.clock().timeIntervalSince1970)
        if current != nil {
            let saved = path + ".saved-\(stamp)"
            let error = JobStoreError.fileReplaced(
                path: path, savedTo: (try? Self.copy(database, to: saved)) != nil ? saved : nil)
            failure = error
            throw error
        }
        let restoring = path + ".restoring-\(stamp)"
        do {
            let count = try database.scalar("SELECT count(*) FROM jobs")
            try Self.copy(database, to: restoring)
            // Closed before the copy takes the name: closing deletes `<path>-wal` by name.
            database.close()
            self.database = nil
            guard rename(restoring, path) == 0 else {
                throw JobStoreError.cannotOpen(
                    path: path,
                    reason: "cannot rename \(restoring): "
                        + "\(String(cString: strerror(errno)))")
            }
            let reopened = try SQLiteDatabase(path: path)
            try Self.configure(reopened, configuration: configuration)
            self.database = reopened
            openedFile = DatabaseFileIdentity(path: path)
            if !FileManager.default.fileExists(atPath: path + ".lock") {
                fileLock?.release()
                fileLock = try? DatabaseFileLock(databasePath: path)
            }
            let jobs = { if case .integer(let n) = count { return String(n) } else { return "all" } }()
            repairs.append(
                "the job database file was deleted while serving; restored at \(path) with its \(jobs) "
                    + "jobs")
            configuration.log?(
                "job database \(path) was deleted while open: restored it from the open connection "
                    + "(\(jobs) jobs)")
        } catch {
            try? FileManager.default.removeItem(atPath: restoring)
            let translated = Self.translate(error, path: path)
            failure = translated
            throw translated
        }
    }

    private static func copy(_ database: SQLiteDatabase, to target: String) throws {
        try database.execute("VACUUM INTO '\(target.replacingOccurrences(of: "'", with: "''"))'")
    }

    /// The store's state for `/health`: a failure of the disk or the file that no write has
    /// cleared since (retried with a one-page write, so freed space shows at once), and repairs.
    public func health() -> JobStorageHealth {
        lock.lock()
        defer { lock.unlock() }
        guard database != nil else {
            return JobStorageHealth(
                backend: "sqlite", location: path, state: "closed", repairs: repairs.isEmpty ? nil : repairs)
        }
        do {
            try guardFileLocked()
            if failure != nil, let current = self.database {
                // Rewrites page 1 (user_version unchanged): succeeds only if the file takes writes.
                if case .integer(let version) = try current.scalar("PRAGMA user_version") {
                    try current.execute("PRAGMA user_version = \(version)")
                    try current.execute("PRAGMA wal_checkpoint(PASSIVE)")
                    failure = nil
                }
            }
        } catch {
            let translated = Self.translate(error, path: path)
            if Self.isEnvironmental(translated) { failure = translated }
        }
        return JobStorageHealth(
            backend: "sqlite", location: path, state: failure == nil ? "ok" : "unavailable",
            error: failure.map { "\($0)" }, repairs: repairs.isEmpty ? nil : repairs)
    }

    // MARK: - Submitting and reading

    /// Records a new job, durably, and returns it with status `queued`.
    ///
    /// With an `idempotencyKey`, a retry of the same request returns the job created the first
    /// time (`created == false`), whatever its status now. Params are compared as JSON values
    /// (key order and whitespace do not matter); reusing the key with a different type or
    /// different params throws `JobStoreError.idempotencyConflict`. Keys are forgotten when
    /// their job expires.
    ///
    /// The job is committed before this returns, so a 202 sent afterwards is a promise the store
    /// keeps across a crash of the process (see `Durability`).
    public func submit(type: String, params: Data, idempotencyKey: String? = nil) throws -> Submission {
        guard !type.isEmpty, type.utf8.count <= Self.maxTypeLength else {
            throw JobStoreError.invalidArgument("job type must be 1 to \(Self.maxTypeLength) bytes")
        }
        if let key = idempotencyKey, key.isEmpty || key.utf8.count > Self.maxIdempotencyKeyLength {
            throw JobStoreError.invalidArgument("idempotency key must be 1 to \(Self.maxIdempotencyKeyLength) bytes")
        }
        let submission: Submission = try withDatabase { db in
            let submission: Submission = try db.transaction {
                if let key = idempotencyKey,
                    let existing = try db.query(
                        "SELECT \(Self.columns) FROM jobs WHERE idempotency_key = ?",
                        [.text(key)], row: Self.decodeJob
                    ).first
                {
                    guard existing.type == type, Self.sameJSON(existing.params, params) else {
                        throw JobStoreError.idempotencyConflict(key: key, existingJobID: existing.id)
                    }
                    return Submission(job: existing, created: false)
                }
                let id = JobID.random()
                let now = Self.milliseconds(configuration.clock())
                try db.run(
                    """
                    INSERT INTO jobs (id, type, params, idempotency_key, status, created_at)
                    VALUES (?, ?, ?, ?, 'queued', ?)
                    """,
                    [
                        .text(id.rawValue), .text(type), .blob(params), idempotencyKey.map { .text($0) } ?? .null,
                        .integer(now),
                    ])
                let job = Job(
                    id: id, type: type, params: params, idempotencyKey: idempotencyKey, status: .queued,
                    attempts: 0, cancelRequested: false, result: nil, errorMessage: nil, partialText: nil,
                    createdAt: Self.date(now), startedAt: nil, finishedAt: nil)
                return Submission(job: job, created: true)
            }
            if !submission.created { return Submission(job: withPartialText(submission.job), created: false) }
            return submission
        }
        if submission.created { queueSignal.notify() }
        return submission
    }

    /// The job with this id, or nil if there is none (never existed, or expired).
    public func get(_ id: JobID) throws -> Job? {
        try withDatabase { db in try fetch(id, db).map(withPartialText) }
    }

    /// Jobs in submission order (oldest first unless `newestFirst`), optionally of one status.
    public func list(status: JobStatus? = nil, limit: Int = 100, newestFirst: Bool = false) throws -> [Job] {
        guard limit >= 0 else { throw JobStoreError.invalidArgument("limit must not be negative") }
        let order = newestFirst ? "DESC" : "ASC"
        return try withDatabase { db in
            let jobs: [Job]
            if let status {
                jobs = try db.query(
                    "SELECT \(Self.columns) FROM jobs WHERE status = ? ORDER BY seq \(order) LIMIT "
                        + "?",
                    [.text(status.rawValue), .integer(Int64(limit))], row: Self.decodeJob)
            } else {
                jobs = try db.query(
                    "SELECT \(Self.columns) FROM jobs ORDER BY seq \(order) LIMIT ?",
                    [.integer(Int64(limit))], row: Self.decodeJob)
            }
            return jobs.map(withPartialText)
        }
    }

    /// Number of jobs in each status (for metrics and health checks).
    public func counts() throws -> [JobStatus: Int] {
        try withDatabase { db in
            var counts: [JobStatus: Int] = [:]
            for (status, count) in try db.query(
                "SELECT status, count(*) FROM jobs GROUP BY status",
                row: { ($0.text(at: 0) ?? "", $0.int(at: 1)) })
            {
                if let status = JobStatus(rawValue: status) { counts[status] = count }
            }
            return counts
        }
    }

    /// Cancels a job and returns its state afterwards.
    ///
    /// A queued job is cancelled at once. A running job gets `cancelRequested` (persisted, so it
    /// is honoured even across a crash) and its worker's `CancellationFlag` is set; it becomes
    /// `cancelled` when the worker gives the lease back, and any result it still produces is
    /// discarded. A finished job is returned unchanged. Throws `jobNotFound` for unknown ids.
    @discardableResult
    public func cancel(_ id: JobID) throws -> Job {
        try withDatabase { db in
            guard var job = try fetch(id, db) else { throw JobStoreError.jobNotFound(id) }
            switch job.status {
            case .queued:
                let now = Self.milliseconds(configuration.clock())
                try db.run(
                    "UPDATE jobs SET status = 'cancelled', finished_at = ? WHERE id = ?",
                    [.integer(now), .text(id.rawValue)])
                job.status = .cancelled
                job.finishedAt = Self.date(now)
                events.finished(id, .cancelled)
            case .running:
                try db.run("UPDATE jobs SET cancel_requested = 1 WHERE id = ?", [.text(id.rawValue)])
                job.cancelRequested = true
                activeLeases[id]?.cancellation.cancel()
            case .succeeded, .failed, .cancelled:
                break
            }
            return withPartialText(job)
        }
    }

    /// Follows a job's progress: its current state first (for a finished job, just the final
    /// event), then live events. Throws `jobNotFound` for unknown ids.
    public func subscribe(_ id: JobID) throws -> JobSubscription {
        // Under the store lock: no state change can commit between the snapshot and registration.
        try withDatabase { db in
            guard let job = try fetch(id, db) else { throw JobStoreError.jobNotFound(id) }
            return events.subscribe(to: job)
        }
    }

    // MARK: - Running

    /// Claims the oldest queued job of `type` for the calling worker: marks it running, counts
    /// the attempt, and returns the lease. Nil when none is queued.
    public func claimNext(type: String) throws -> JobLease? {
        try withDatabase { db in
            // INDEXED BY: without statistics the planner prefers jobs_status, which would walk
            // every queued job of every other type before finding one of ours.
            guard
                let id = try db.query(
                    "SELECT id FROM jobs INDEXED BY jobs_queue WHERE status = 'queued' AND "
                        + "type = ? ORDER BY seq LIMIT 1",
                    [.text(type)], row: { JobID(trusted: $0.text(at: 0) ?? "") }
                ).first
            else { return nil }
            return try startLocked(id, db)
        }
    }

    /// Claims a specific queued job (for an executor that picks its own work). Throws
    /// `invalidState` if the job is not queued.
    public func markRunning(_ id: JobID) throws -> JobLease {
        try withDatabase { db in try startLocked(id, db) }
    }

    private func startLocked(_ id: JobID, _ db: SQLiteDatabase) throws -> JobLease {
        let now = Self.milliseconds(configuration.clock())
        let changed = try db.run(
            """
            UPDATE jobs SET status = 'running', attempts = attempts + 1, started_at = ?
            WHERE id = ? AND status = 'queued'
            """, [.integer(now), .text(id.rawValue)])
        guard changed == 1, let job = try fetch(id, db) else {
            guard let job = try fetch(id, db) else { throw JobStoreError.jobNotFound(id) }
            throw JobStoreError.invalidState(id, status: job.status, operation: "start")
        }
        lastLeaseToken += 1
        let lease = JobLease(
            job: job, cancellation: CancellationFlag(),
            progress: ProgressReporter(hub: events, jobID: id, leaseToken: lastLeaseToken),
            token: lastLeaseToken)
        activeLeases[id] = lease
        events.started(id, attempt: job.attempts, lease: lease.token)
        return lease
    }

    /// Records the result of a leased job: `succeeded`, or `cancelled` (result discarded) if a
    /// cancel was requested meanwhile. Returns the finished job.
    @discardableResult
    public func complete(_ lease: JobLease, result: Data) throws -> Job {
        try finish(lease, status: .succeeded, result: result, message: nil)
    }

    /// Records that a leased job failed: `failed` with `message`, or `cancelled` if a cancel was
    /// requested (the executor most likely stopped because of it). Returns the finished job.
    @discardableResult
    public func fail(_ lease: JobLease, message: String) throws -> Job {
        try finish(lease, status: .failed, result: nil, message: message)
    }

    /// Records that the executor stopped a leased job because of its cancellation flag.
    @discardableResult
    public func markCancelled(_ lease: JobLease) throws -> Job {
        try finish(lease, status: .cancelled, result: nil, message: nil)
    }

    private func finish(_ lease: JobLease, status requested: JobStatus, result: Data?, message: String?) throws -> Job {
        try withDatabase { db in
            var job = try ownedJob(lease, db)
            let status: JobStatus = job.cancelRequested ? .cancelled : requested
            let now = Self.milliseconds(configuration.clock())
            try db.run(
                "UPDATE jobs SET status = ?, result = ?, error = ?, finished_at = ? WHERE id = ?",
                [
                    .text(status.rawValue),
                    status == .succeeded ? .blob(result ?? Data()) : .null,
                    status == .failed ? .text(message ?? "failed") : .null,
                    .integer(now), .text(job.id.rawValue),
                ])
            activeLeases[job.id] = nil
            job.status = status
            job.result = status == .succeeded ? (result ?? Data()) : nil
            job.errorMessage = status == .failed ? (message ?? "failed") : nil
            job.finishedAt = Self.date(now)
            switch status {
            case .succeeded: events.finished(job.id, .done(result: job.result ?? Data()))
            case .failed: events.finished(job.id, .failed(message: job.errorMessage ?? "failed"))
            default: events.finished(job.id, .cancelled)
            }
            return job
        }
    }

    /// Gives a leased job back to the queue without counting the attempt (graceful shutdown).
    /// It keeps its place at the front of the queue. A job whose cancel was requested is
    /// cancelled instead.
    @discardableResult
    public func requeue(_ lease: JobLease) throws -> Job {
        let job: Job = try withDatabase { db in
            var job = try ownedJob(lease, db)
            activeLeases[job.id] = nil
            if job.cancelRequested {
                let now = Self.milliseconds(configuration.clock())
                try db.run(
                    "UPDATE jobs SET status = 'cancelled', finished_at = ? WHERE id = ?",
                    [.integer(now), .text(job.id.rawValue)])
                job.status = .cancelled
                job.finishedAt = Self.date(now)
                events.finished(job.id, .cancelled)
            } else {
                try db.run(
                    "UPDATE jobs SET status = 'queued', attempts = attempts - 1, started_at = NULL WHERE id "
                        + "= ?",
                    [.text(job.id.rawValue)])
                job.status = .queued
                job.attempts -= 1
                job.startedAt = nil
                events.queued(job.id)
            }
            return job
        }
        if job.status == .queued { queueSignal.notify() }
        return job
    }

    /// The job row, provided `lease` is still the job's current lease in this store instance.
    private func ownedJob(_ lease: JobLease, _ db: SQLiteDatabase) throws -> Job {
        let job = try fetch(lease.jobID, db)
        guard let job, job.status == .running, activeLeases[lease.jobID]?.token == lease.token else {
            throw JobStoreError.leaseLost(lease.jobID, status: job?.status)
        }
        return job
    }

    /// At startup, deals with jobs a previous process left `running` (it crashed or was killed):
    /// queued again to run from scratch, or failed once they reach `maxAttempts`, or cancelled if
    /// a cancel was requested. Jobs leased by this store instance are left alone.
    @discardableResult
    public func recoverUnfinished() throws -> RecoveryReport {
        let report: RecoveryReport = try withDatabase { db in
            let (report, finalEvents): (RecoveryReport, [(JobID, JobEvent)]) = try db.transaction {
                var report = RecoveryReport()
                var finalEvents: [(JobID, JobEvent)] = []
                let orphans = try db.query(
                    "SELECT \(Self.columns) FROM jobs WHERE status = 'running' ORDER BY seq",
                    row: Self.decodeJob
                ).filter { activeLeases[$0.id] == nil }
                let now = Self.milliseconds(configuration.clock())
                for job in orphans {
                    if job.cancelRequested {
                        try db.run(
                            "UPDATE jobs SET status = 'cancelled', finished_at = ? WHERE id = ?",
                            [.integer(now), .text(job.id.rawValue)])
                        report.cancelled.append(job.id)
                        finalEvents.append((job.id, .cancelled))
                    } else if job.attempts >= configuration.maxAttempts {
                        let message =
                            "Gave up after \(job.attempts) attempts: the server stopped (crashed or was "
                            + "killed) while running this job each time."
                        try db.run(
                            "UPDATE jobs SET status = 'failed', error = ?, finished_at = ? WHERE id = ?",
                            [.text(message), .integer(now), .text(job.id.rawValue)])
                        report.failed.append(job.id)
                        finalEvents.append((job.id, .failed(message: message)))
                    } else {
                        try db.run(
                            "UPDATE jobs SET status = 'queued', started_at = NULL WHERE id = ?",
                            [.text(job.id.rawValue)])
                        report.requeued.append(job.id)
                    }
                }
                return (report, finalEvents)
            }
            // Nobody is normally subscribed this early, but subscribers must not miss changes.
            for id in report.requeued { events.queued(id) }
            for (id, event) in finalEvents { events.finished(id, event) }
            return report
        }
        if !report.requeued.isEmpty { queueSignal.notify() }
        return report
    }

    // MARK: - Expiry and shutdown

    /// Deletes finished jobs (with their results and idempotency keys) that finished more than
    /// `age` seconds ago. Returns how many were deleted.
    ///
    /// Deletes in small batches, releasing the lock in between, so a large backlog does not
    /// stall submissions.
    @discardableResult
    public func expire(olderThan age: TimeInterval) throws -> Int {
        let cutoff = Self.milliseconds(configuration.clock().addingTimeInterval(-age))
        // Only finishing sets finished_at (and nothing clears it), so the condition on it alone
        // selects finished jobs and runs on the jobs_finished index.
        let batch = 500
        var total = 0
        while true {
            let deleted = try withDatabase { db in
                try db.run(
                    """
                    DELETE FROM jobs WHERE seq IN (
                        SELECT seq FROM jobs WHERE finished_at IS NOT NULL AND finished_at < ? LIMIT \(batch))
                    """, [.integer(cutoff)])
            }
            total += deleted
            if deleted < batch { return total }
        }
    }

    /// Closes the database cleanly: checkpoints the WAL into the main file (so the directory is
    /// left with one self-contained file), closes the connection, releases the process lock and
    /// ends every event subscription. Later calls throw `JobStoreError.closed`. Jobs still leased
    /// stay `running` in the file and are recovered at the next start, exactly as after a crash.
    public func close() {
        lock.lock()
        let database = self.database
        self.database = nil
        activeLeases.removeAll()
        if let database {
            try? database.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            database.close()
        }
        fileLock?.release()
        fileLock = nil
        lock.unlock()
        if database != nil {
            events.closeAll()
            queueSignal.notify()
        }
    }

    public var workGeneration: UInt64 { queueSignal.current }

    public func waitForWork(after generation: UInt64, timeout: TimeInterval) {
        queueSignal.wait(after: generation, timeout: timeout)
    }

    public func wakeWorkers() { queueSignal.notify() }

    /// Reads a pragma on the store's own connection (tests check the durability settings).
    func pragma(_ name: String) throws -> SQLiteValue {
        try withDatabase { try $0.scalar("PRAGMA \(name)") }
    }

    public var isClosed: Bool {
        lock.lock()
        defer { lock.unlock() }
        return database == nil
    }

    // MARK: - Rows

    private static let columns =
        "id, type, params, idempotency_key, status, attempts, cancel_requested, result, "
        + "error, created_at, started_at, finished_at"

    private static func decodeJob(_ row: SQLiteStatement) throws -> Job {
        guard let status = JobStatus(rawValue: row.text(at: 4) ?? "") else {
            // Reported like SQLite's own corruption, so the caller maps it to `.corrupt(path:)`.
            throw SQLiteError(
                code: SQLITE_CORRUPT, message: "unknown job status '\(row.text(at: 4) ?? "NULL")'",
                sql: nil, systemErrno: 0)
        }
        return Job(
            id: JobID(trusted: row.text(at: 0) ?? ""),
            type: row.text(at: 1) ?? "",
            params: row.blob(at: 2) ?? Data(),
            idempotencyKey: row.text(at: 3),
            status: status,
            attempts: row.int(at: 5),
            cancelRequested: row.int(at: 6) != 0,
            result: row.blob(at: 7),
            errorMessage: row.text(at: 8),
            partialText: nil,
            createdAt: date(row.int64(at: 9)),
            startedAt: row.isNull(at: 10) ? nil : date(row.int64(at: 10)),
            finishedAt: row.isNull(at: 11) ? nil : date(row.int64(at: 11)))
    }

    private func fetch(_ id: JobID, _ db: SQLiteDatabase) throws -> Job? {
        try db.query("SELECT \(Self.columns) FROM jobs WHERE id = ?", [.text(id.rawValue)], row: Self.decodeJob).first
    }

    private func withPartialText(_ job: Job) -> Job {
        guard job.status == .running else { return job }
        var job = job
        job.partialText = events.text(of: job.id)
        return job
    }

    static func milliseconds(_ date: Date) -> Int64 { Int64((date.timeIntervalSince1970 * 1000).rounded()) }
    static func date(_ milliseconds: Int64) -> Date { Date(timeIntervalSince1970: Double(milliseconds) / 1000) }

    /// Equal as JSON values, so a retry whose params were re-serialised (different key order or
    /// spacing) is recognised. Non-JSON params compare as bytes.
    static func sameJSON(_ a: Data, _ b: Data) -> Bool {
        if a == b { return true }
        func canonical(_ data: Data) -> Data? {
            guard let value = try? JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed]) else {
                return nil
            }
            return try? JSONSerialization.data(withJSONObject: value, options: [.sortedKeys, .fragmentsAllowed])
        }
        guard let ca = canonical(a), let cb = canonical(b) else { return false }
        return ca == cb
    }
}

/// Wakes idle workers when a job becomes queued. A generation counter avoids lost wake-ups:
/// a worker reads it before looking for work and sleeps only if it has not changed since.
///
/// Sendable by hand: every mutable field is read and written under `condition`.
final class QueueSignal: @unchecked Sendable {
    private let condition = NSCondition()
    private var generation: UInt64 = 0

    var current: UInt64 {
        condition.lock()
        defer { condition.unlock() }
        return generation
    }

    func notify() {
        condition.lock()
        generation &+= 1
        condition.broadcast()
        condition.unlock()
    }

    /// Waits until `notify` is called after `seen` was read, or until the timeout.
    func wait(after seen: UInt64, timeout: TimeInterval) {
        let deadline = Date(timeIntervalSinceNow: timeout)
        condition.lock()
        defer { condition.unlock() }
        while generation == seen {
            if !condition.wait(until: deadline) { return }
        }
    }
}
