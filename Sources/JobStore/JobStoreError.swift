import Foundation
import HTTPServer

/// Everything the job store can fail with. Each description says what is wrong and what to do,
/// because these end up in server logs read by someone who did not write this code.
public enum JobStoreError: Error, CustomStringConvertible, Equatable {
    // MARK: Opening the database

    /// The file (or its directory) cannot be opened or created: missing directory, no permission,
    /// a path component that is a regular file...
    case cannotOpen(path: String, reason: String)
    /// The file or its directory is write-protected, so accepted jobs could not be recorded.
    case readOnly(path: String, reason: String)
    /// The file exists but is not a SQLite database (or its header is destroyed).
    case notADatabase(path: String)
    /// SQLite reports damaged pages or an integrity check failure.
    case corrupt(path: String, detail: String)
    /// A SQLite database, but some other program's: it has tables and none of ours.
    case foreignDatabase(path: String)
    /// The schema was written by a newer version of Octavo Infer than this one understands.
    case schemaTooNew(path: String, found: Int, supported: Int)
    /// Another process (most likely a second server) has this job database open.
    case databaseInUse(path: String)
    /// Another connection held SQLite's lock for longer than the busy timeout.
    case busy(path: String)
    /// The disk (or quota) is full.
    case diskFull(path: String)
    /// Any other SQLite failure, with SQLite's message and the SQL it was running.
    case sqlite(code: Int32, message: String, sql: String?)
    /// Another file was put at the database's path while the server had it open. The store
    /// refuses to go on (jobs written to the old, unreachable file would be lost at restart).
    case fileReplaced(path: String, savedTo: String?)
    /// The store was closed (server shutting down).
    case closed
    /// The shared store (Redis) cannot be reached or did not answer: nothing was stored. Retry
    /// once it is back.
    case unavailable(backend: String, reason: String)

    // MARK: Using the store

    /// No job with this id (never existed, or expired and swept).
    case jobNotFound(JobID)
    /// An idempotency key was reused with a different job type or different params (HTTP 409).
    case idempotencyConflict(key: String, existingJobID: JobID)
    /// The caller's claim on a running job is gone: the job was re-queued (server stop, crash
    /// recovery) or already finished. The caller's outcome must be discarded.
    case leaseLost(JobID, status: JobStatus?)
    /// The job is not in a state that allows the operation (e.g. `markRunning` on a finished job).
    case invalidState(JobID, status: JobStatus, operation: String)
    /// A caller passed a value the store refuses (empty type, oversized idempotency key...).
    case invalidArgument(String)

    public var description: String {
        switch self {
        case .cannotOpen(let path, let reason):
            return "Cannot open the job database at \(path): \(reason). Check that the directory exists and that "
                + "this user can create and write files in it, or choose another path."
        case .readOnly(let path, let reason):
            return "The job database at \(path) is read-only (\(reason)). The server must be able to write the "
                + "file and create '-wal' and '-shm' files next to it: fix the permissions of the file and its "
                + "directory."
        case .notADatabase(let path):
            return "The file at \(path) is not a SQLite database (or its header is destroyed). If it is a damaged "
                + "job database, move it (and any '-wal'/'-shm' files) aside and restart to start with an empty "
                + "one; otherwise point the server at another path."
        case .corrupt(let path, let detail):
            return "The job database at \(path) is corrupt (\(detail)). Stop the server, move the file and its "
                + "'-wal'/'-shm' files aside (keep them for salvage with `sqlite3 file .recover`), and restart "
                + "with an empty database."
        case .foreignDatabase(let path):
            return "The SQLite database at \(path) belongs to another program (it has tables but no job table). "
                + "Point the server at a dedicated job database file."
        case .schemaTooNew(let path, let found, let supported):
            return "The job database at \(path) has schema version \(found), but this build only understands up to "
                + "\(supported): it was written by a newer Octavo Infer. Upgrade the server, or use another "
                + "database file."
        case .databaseInUse(let path):
            return "The job database at \(path) is in use by another process (probably another Octavo Infer "
                + "server). Two servers on one job database would run the same jobs twice: stop the other one, or "
                + "give this one its own database."
        case .busy(let path):
            return "The job database at \(path) stayed locked by another connection for longer than the busy "
                + "timeout. Close whatever else has it open (e.g. a sqlite3 shell in a transaction) or raise the "
                + "busy timeout."
        case .diskFull(let path):
            return "The disk holding the job database at \(path) is full. Free space (or shorten the result TTL so "
                + "old results are swept) and retry."
        case .sqlite(let code, let message, let sql):
            return "Job database error (SQLite code \(code)): \(message)"
                + (sql.map { " — while running: \($0)" } ?? "")
        case .fileReplaced(let path, let savedTo):
            let saved = savedTo.map { "Its jobs up to now were saved to \($0). " } ?? ""
            return "The job database at \(path) was replaced by another file while the server had it open. "
                + "\(saved)The server refuses job operations rather than write to a file nobody will find: stop "
                + "it, put the right database at \(path), and start it again."
        case .unavailable(let backend, let reason):
            return "The job store (\(backend)) is unavailable: \(reason) The request may not have been stored: "
                + "retry shortly, with the same Idempotency-Key."
        case .closed:
            return "The job store is closed (the server is shutting down); retry against the restarted server."
        case .jobNotFound(let id):
            return "No job with id \(id): it never existed or its result expired and was removed."
        case .idempotencyConflict(let key, let existing):
            return "Idempotency key '\(key)' was already used for job \(existing) with a different type or "
                + "different params. Reuse a key only to retry the identical request; use a new key for a new "
                + "request."
        case .leaseLost(let id, let status):
            return "Job \(id) is no longer running under this worker (now \(status?.rawValue ?? "gone")): it was "
                + "re-queued or finished elsewhere. Discard this outcome."
        case .invalidState(let id, let status, let operation):
            return "Cannot \(operation) job \(id): it is \(status.rawValue)."
        case .invalidArgument(let message):
            return "Invalid argument: \(message)"
        }
    }
}
