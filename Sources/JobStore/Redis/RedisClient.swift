import Foundation
import HTTPServer

/// A thread-safe Redis client: a small pool of connections, each used by one caller at a time.
///
///     let redis = try RedisClient(url: RedisURL(parsing: "redis://127.0.0.1:6379/0"))
///     try redis.send("SET", "greeting", "hello")
///     let replies = try redis.pipeline([["INCR", "n"], ["GET", "greeting"]])
///
/// Reconnecting is implicit: a connection that fails is dropped, and the next command opens a
/// new one. A command in flight when the connection drops throws `RedisError.connectionLost`
/// (it may or may not have run); a command sent while Redis is down throws
/// `connectionRefused`. Blocking commands (`XREAD BLOCK`) hold their connection for the wait,
/// so they never delay other callers.
///
/// Sendable by hand: the connection pool is only touched under `lock`; a connection is used by one thread at
/// a time.
public final class RedisClient: @unchecked Sendable {
    public let url: RedisURL
    public let connectTimeout: TimeInterval
    /// How long a command may take to answer (blocking commands add their own block time).
    public let commandTimeout: TimeInterval
    /// Idle connections kept for reuse; more are opened on demand and closed after use.
    public let maxIdleConnections: Int

    private let lock = NSLock()
    private var idle: [RedisConnection] = []
    private var isClosed = false

    public init(
        url: RedisURL, connectTimeout: TimeInterval = 2, commandTimeout: TimeInterval = 5,
        maxIdleConnections: Int = 16
    ) {
        self.url = url
        self.connectTimeout = connectTimeout
        self.commandTimeout = commandTimeout
        self.maxIdleConnections = maxIdleConnections
    }

    deinit { close() }

    /// Runs one command; an error reply throws `RedisError.server`.
    @discardableResult
    public func send(_ arguments: String..., extraTimeout: TimeInterval = 0) throws -> RedisValue {
        try send(arguments.map { Data($0.utf8) }, extraTimeout: extraTimeout)
    }

    @discardableResult
    public func send(_ arguments: [String], extraTimeout: TimeInterval = 0) throws -> RedisValue {
        try send(arguments.map { Data($0.utf8) }, extraTimeout: extraTimeout)
    }

    @discardableResult
    public func send(_ arguments: [Data], extraTimeout: TimeInterval = 0) throws -> RedisValue {
        try pipeline([arguments], extraTimeout: extraTimeout)[0].throwingError()
    }

    /// Sends all commands in one write and returns their replies in order. Error replies are
    /// returned as `.error` values (one failing command does not hide the others' replies).
    public func pipeline(_ commands: [[String]], extraTimeout: TimeInterval = 0) throws -> [RedisValue] {
        try pipeline(commands.map { $0.map { Data($0.utf8) } }, extraTimeout: extraTimeout)
    }

    public func pipeline(_ commands: [[Data]], extraTimeout: TimeInterval = 0) throws -> [RedisValue] {
        guard !commands.isEmpty else { return [] }
        let connection = try checkOut()
        do {
            let replies = try connection.execute(commands, timeout: commandTimeout + extraTimeout)
            checkIn(connection)
            return replies
        } catch {
            connection.close()
            throw error
        }
    }

    /// Closes every idle connection; commands after this throw `RedisError.closed`.
    public func close() {
        lock.lock()
        isClosed = true
        let connections = idle
        idle.removeAll()
        lock.unlock()
        for connection in connections { connection.close() }
    }

    /// Drops idle connections without closing the client (the next command reconnects).
    public func disconnectIdle() {
        lock.lock()
        let connections = idle
        idle.removeAll()
        lock.unlock()
        for connection in connections { connection.close() }
    }

    private func checkOut() throws -> RedisConnection {
        lock.lock()
        if isClosed {
            lock.unlock()
            throw RedisError.closed
        }
        var stale: [RedisConnection] = []
        var reused: RedisConnection?
        while let candidate = idle.popLast() {
            // An idle connection that Redis closed (a restart) would fail the command for nothing.
            if candidate.peerHasGone {
                stale.append(candidate)
            } else {
                reused = candidate
                break
            }
        }
        lock.unlock()
        for connection in stale { connection.close() }
        if let reused { return reused }
        return try RedisConnection(url: url, connectTimeout: connectTimeout, commandTimeout: commandTimeout)
    }

    private func checkIn(_ connection: RedisConnection) {
        lock.lock()
        if !isClosed, !connection.isBroken, idle.count < maxIdleConnections {
            idle.append(connection)
            lock.unlock()
        } else {
            lock.unlock()
            connection.close()
        }
    }
}
