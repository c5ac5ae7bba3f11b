import CSQLite
import Foundation
import HTTPServer

/// A failed SQLite call: the result code, SQLite's own message and the SQL that was running.
///
/// Internal: `JobStore` translates these into `JobStoreError`, which says what to do about it.
struct SQLiteError: Error, CustomStringConvertible {
    /// Extended result code (e.g. `SQLITE_CONSTRAINT_UNIQUE`); `primaryCode` strips the extension.
    let code: Int32
    let message: String
    let sql: String?
    /// errno of the last failed system call, when SQLite reports one (0 otherwise).
    let systemErrno: Int32

    var primaryCode: Int32 { code & 0xFF }

    var description: String {
        var text = "SQLite error \(code) (\(String(cString: sqlite3_errstr(code)))): \(message)"
        if systemErrno != 0 { text += " [errno \(systemErrno): \(String(cString: strerror(systemErrno)))]" }
        if let sql { text += " — while running: \(sql)" }
        return text
    }
}

/// A value to bind to a statement parameter or read from a column.
enum SQLiteValue: Equatable {
    case null
    case integer(Int64)
    case real(Double)
    case text(String)
    case blob(Data)
}

/// SQLite copies bound text and blobs when given this destructor, so Swift buffers only need
/// to live for the duration of the bind call.
private let SQLITE_TRANSIENT = unsafeBitCast(-1, to: sqlite3_destructor_type.self)

/// A thin wrapper around one SQLite connection.
///
/// Not thread-safe by itself: the connection is opened with `SQLITE_OPEN_NOMUTEX` and the owner
/// (`JobStore`) serialises every use behind its own lock, which also makes multi-statement
/// sequences (read-then-write) atomic with respect to other threads.
final class SQLiteDatabase {
    let path: String
    private var handle: OpaquePointer?
    /// Prepared statements are reused: the job store runs the same dozen statements all day.
    private var statementCache: [String: SQLiteStatement] = [:]

    var isOpen: Bool { handle != nil }

    init(path: String, flags: Int32 = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX) throws {
        self.path = path
        var db: OpaquePointer?
        let rc = sqlite3_open_v2(path, &db, flags, nil)
        if rc != SQLITE_OK {
            // sqlite3_open_v2 allocates a handle even on failure; it carries the message.
            let error = SQLiteError(
                code: rc,
                message: db.map { String(cString: sqlite3_errmsg($0)) } ?? String(cString: sqlite3_errstr(rc)),
                sql: nil,
                systemErrno: db.map { sqlite3_system_errno($0) } ?? 0)
            sqlite3_close_v2(db)
            throw error
        }
        handle = db
        sqlite3_extended_result_codes(db, 1)
    }

    deinit { close() }

    /// Rows changed by every statement since the connection opened (tells a write from a read).
    var totalChanges: Int64 {
        guard let handle else { return 0 }
        return sqlite3_total_changes64(handle)
    }

    /// True when SQLite fell back to a read-only connection (the file is write-protected).
    var isReadOnly: Bool {
        guard let handle else { return true }
        return sqlite3_db_readonly(handle, "main") == 1
    }

    func setBusyTimeout(milliseconds: Int32) throws {
        try check(sqlite3_busy_timeout(try requireHandle(), milliseconds), sql: nil)
    }

    /// Runs one or more statements that return no rows of interest (schema, pragmas).
    func execute(_ sql: String) throws {
        let db = try requireHandle()
        var errorMessage: UnsafeMutablePointer<CChar>?
        let rc = sqlite3_exec(db, sql, nil, nil, &errorMessage)
        if rc != SQLITE_OK {
            let message = errorMessage.map { String(cString: $0) } ?? String(cString: sqlite3_errmsg(db))
            sqlite3_free(errorMessage)
            throw SQLiteError(
                code: sqlite3_extended_errcode(db), message: message, sql: sql,
                systemErrno: sqlite3_system_errno(db))
        }
    }

    /// A cached prepared statement, reset and with its bindings cleared.
    func prepare(_ sql: String) throws -> SQLiteStatement {
        if let cached = statementCache[sql] {
            cached.reset()
            return cached
        }
        let db = try requireHandle()
        var raw: OpaquePointer?
        let rc = sqlite3_prepare_v3(db, sql, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &raw, nil)
        guard rc == SQLITE_OK, let raw else {
            throw SQLiteError(
                code: sqlite3_extended_errcode(db), message: String(cString: sqlite3_errmsg(db)),
                sql: sql, systemErrno: sqlite3_system_errno(db))
        }
        let statement = SQLiteStatement(raw, database: self, sql: sql)
        statementCache[sql] = statement
        return statement
    }

    /// Runs a statement to completion and returns the number of rows it changed.
    @discardableResult
    func run(_ sql: String, _ bindings: [SQLiteValue] = []) throws -> Int {
        let statement = try prepare(sql)
        defer { statement.reset() }
        try statement.bind(bindings)
        while try statement.step() {}
        return Int(sqlite3_changes(handle))
    }

    /// Runs a query and maps every row.
    func query<T>(_ sql: String, _ bindings: [SQLiteValue] = [], row: (SQLiteStatement) throws -> T) throws -> [T] {
        let statement = try prepare(sql)
        defer { statement.reset() }
        try statement.bind(bindings)
        var rows: [T] = []
        while try statement.step() { rows.append(try row(statement)) }
        return rows
    }

    /// The first column of the first row, for pragmas and counts.
    func scalar(_ sql: String, _ bindings: [SQLiteValue] = []) throws -> SQLiteValue {
        try query(sql, bindings) { $0.value(at: 0) }.first ?? .null
    }

    enum TransactionKind: String {
        case deferred = "DEFERRED"
        /// Takes the write lock up front, so a read-then-write transaction never fails half way
        /// with SQLITE_BUSY when another connection (e.g. the sqlite3 shell) is writing.
        case immediate = "IMMEDIATE"
    }

    /// Runs `body` in a transaction: committed if it returns, rolled back if it throws.
    func transaction<T>(_ kind: TransactionKind = .immediate, _ body: () throws -> T) throws -> T {
        try execute("BEGIN \(kind.rawValue)")
        do {
            let value = try body()
            try execute("COMMIT")
            return value
        } catch {
            // After some errors (e.g. SQLITE_FULL) SQLite already rolled back; ignore that failure.
            if let handle, sqlite3_get_autocommit(handle) == 0 { try? execute("ROLLBACK") }
            throw error
        }
    }

    /// Finalizes every statement and closes the connection. Safe to call twice.
    func close() {
        for statement in statementCache.values { statement.finalize() }
        statementCache.removeAll()
        if let handle {
            // close_v2 never fails on busy statements; all of ours are finalized above anyway.
            sqlite3_close_v2(handle)
            self.handle = nil
        }
    }

    fileprivate func check(_ rc: Int32, sql: String?) throws {
        guard rc != SQLITE_OK && rc != SQLITE_ROW && rc != SQLITE_DONE else { return }
        throw lastError(rc: rc, sql: sql)
    }

    fileprivate func lastError(rc: Int32, sql: String?) -> SQLiteError {
        guard let handle else { return SQLiteError(code: rc, message: "database is closed", sql: sql, systemErrno: 0) }
        let extended = sqlite3_extended_errcode(handle)
        return SQLiteError(
            code: (extended & 0xFF) == (rc & 0xFF) ? extended : rc,
            message: String(cString: sqlite3_errmsg(handle)), sql: sql,
            systemErrno: sqlite3_system_errno(handle))
    }

    private func requireHandle() throws -> OpaquePointer {
        guard let handle else {
            throw SQLiteError(code: SQLITE_MISUSE, message: "database is closed", sql: nil, systemErrno: 0)
        }
        return handle
    }
}

/// A prepared statement owned by a `SQLiteDatabase` (which caches and finalizes it).
final class SQLiteStatement {
    private var raw: OpaquePointer?
    private unowned let database: SQLiteDatabase
    let sql: String

    fileprivate init(_ raw: OpaquePointer, database: SQLiteDatabase, sql: String) {
        self.raw = raw
        self.database = database
        self.sql = sql
    }

    func bind(_ values: [SQLiteValue]) throws {
        for (offset, value) in values.enumerated() {
            try bind(value, at: Int32(offset + 1))
        }
    }

    func bind(_ value: SQLiteValue, at index: Int32) throws {
        let rc: Int32
        switch value {
        case .null: rc = sqlite3_bind_null(raw, index)
        case .integer(let v): rc = sqlite3_bind_int64(raw, index, v)
        case .real(let v): rc = sqlite3_bind_double(raw, index, v)
        case .text(let v): rc = sqlite3_bind_text(raw, index, v, -1, SQLITE_TRANSIENT)
        case .blob(let v):
            rc = v.withUnsafeBytes { buffer in
                // A zero-length blob must still be a blob, not NULL: bind_zeroblob does that.
                guard let base = buffer.baseAddress, buffer.count > 0 else {
                    return sqlite3_bind_zeroblob(raw, index, 0)
                }
                return sqlite3_bind_blob64(raw, index, base, sqlite3_uint64(buffer.count), SQLITE_TRANSIENT)
            }
        }
        try database.check(rc, sql: sql)
    }

    /// Advances to the next row: true when a row is available, false when done.
    func step() throws -> Bool {
        let rc = sqlite3_step(raw)
        switch rc {
        case SQLITE_ROW: return true
        case SQLITE_DONE: return false
        default: throw database.lastError(rc: rc, sql: sql)
        }
    }

    func reset() {
        sqlite3_reset(raw)
        sqlite3_clear_bindings(raw)
    }

    func finalize() {
        sqlite3_finalize(raw)
        raw = nil
    }

    // MARK: Columns (0-based)

    func isNull(at column: Int32) -> Bool { sqlite3_column_type(raw, column) == SQLITE_NULL }

    func int64(at column: Int32) -> Int64 { sqlite3_column_int64(raw, column) }

    func int(at column: Int32) -> Int { Int(sqlite3_column_int64(raw, column)) }

    func text(at column: Int32) -> String? {
        guard let pointer = sqlite3_column_text(raw, column) else { return nil }
        return String(cString: pointer)
    }

    func blob(at column: Int32) -> Data? {
        if isNull(at: column) { return nil }
        // Call blob before bytes: that is the order SQLite documents for a stable pointer.
        let pointer = sqlite3_column_blob(raw, column)
        let count = Int(sqlite3_column_bytes(raw, column))
        guard let pointer, count > 0 else { return Data() }
        return Data(bytes: pointer, count: count)
    }

    func value(at column: Int32) -> SQLiteValue {
        switch sqlite3_column_type(raw, column) {
        case SQLITE_INTEGER: return .integer(int64(at: column))
        case SQLITE_FLOAT: return .real(sqlite3_column_double(raw, column))
        case SQLITE_TEXT: return .text(text(at: column) ?? "")
        case SQLITE_BLOB: return .blob(blob(at: column) ?? Data())
        default: return .null
        }
    }
}
