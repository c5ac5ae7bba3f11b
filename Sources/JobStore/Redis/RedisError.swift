import Foundation
import HTTPServer

/// Everything the Redis client can fail with. Each description says what to do next.
public enum RedisError: Error, CustomStringConvertible, Equatable {
    /// The URL is not `redis://[[user]:password@]host[:port][/db]`.
    case invalidURL(String, reason: String)
    /// Nothing listens at the address (ECONNREFUSED): Redis is down or the port is wrong.
    case connectionRefused(host: String, port: Int)
    /// The connection could not be made or broke for another reason (DNS, unreachable host...).
    case connectionFailed(host: String, port: Int, reason: String)
    /// The connection dropped while a command was in flight: the command may or may not have
    /// run. Safe to retry commands that are idempotent (or guarded, like the job store's scripts).
    case connectionLost(host: String, port: Int, reason: String)
    /// No reply (or no connection) within the timeout.
    case timedOut(host: String, port: Int, operation: String, seconds: TimeInterval)
    /// Redis answered with an error reply (`-ERR ...`, `-NOGROUP ...`, `-WRONGPASS ...`).
    case server(message: String)
    /// The bytes from the server are not RESP2, or exceed the client's limits.
    case protocolViolation(String)
    /// The client was closed.
    case closed

    /// The error's first word for server errors (`NOGROUP`, `BUSYGROUP`, `WRONGPASS`...).
    public var serverErrorCode: String? {
        guard case .server(let message) = self else { return nil }
        return message.split(separator: " ", maxSplits: 1).first.map(String.init)
    }

    /// True when the failure is about reaching Redis rather than what was asked: retrying
    /// (after Redis is back) may succeed.
    public var isConnectionProblem: Bool {
        switch self {
        case .connectionRefused, .connectionFailed, .connectionLost, .timedOut: return true
        case .invalidURL, .server, .protocolViolation, .closed: return false
        }
    }

    public var description: String {
        switch self {
        case .invalidURL(let url, let reason):
            return "Invalid Redis URL '\(url)': \(reason). Use redis://[:PASSWORD@]HOST[:PORT][/DB], e.g. "
                + "redis://127.0.0.1:6379/0."
        case .connectionRefused(let host, let port):
            return "Redis refused the connection at \(host):\(port): it is not running there, or listens on "
                + "another port. Start Redis or fix the URL."
        case .connectionFailed(let host, let port, let reason):
            return "Cannot connect to Redis at \(host):\(port): \(reason). Check the host name and the network."
        case .connectionLost(let host, let port, let reason):
            return "The connection to Redis at \(host):\(port) dropped (\(reason)); the command may not have run. "
                + "Retry once Redis is back."
        case .timedOut(let host, let port, let operation, let seconds):
            return "Redis at \(host):\(port) did not answer \(operation) within \(seconds) s: it is overloaded, "
                + "blocked or unreachable."
        case .server(let message):
            return "Redis answered with an error: \(message)"
        case .protocolViolation(let detail):
            return "The server does not speak RESP2 as expected (\(detail)): check that the URL points at a Redis "
                + "server."
        case .closed:
            return "The Redis client is closed."
        }
    }
}
