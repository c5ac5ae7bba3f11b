import Foundation

/// Tells a request's producer that its client went away.
///
/// One per request, reachable as `context.disconnect` and `writer.disconnect`.
/// It flips to disconnected — once, for good — when any of these happens:
/// - the client closed or reset its connection, seen by the server's disconnect
///   monitor (epoll on `EPOLLRDHUP`/`EPOLLHUP`/`EPOLLERR`) even while nothing is
///   being written, typically within milliseconds;
/// - a write to the client failed or timed out;
/// - the server was shut down past its grace period.
///
/// Three ways to use it, from any thread:
/// - poll `isDisconnected` (a lock-protected flag; free to call per token) or
///   `isClientConnected` (the flag, plus a zero-timeout `poll()` of the socket);
/// - register `onDisconnect { ... }` to cancel work pushed to a scheduler;
/// - block in `wait(timeout:)`.
///
/// Note: a client that half-closes (`shutdown(SHUT_WR)`) after sending its
/// request counts as gone, as in most inference servers; HTTP clients that
/// stream responses (curl, httpx, requests, browsers) do not half-close.
///
/// Sendable by hand: every mutable field is read and written under `condition`.
public final class DisconnectSignal: @unchecked Sendable {
    private let condition = NSCondition()
    private var disconnected = false
    private var handlers: [@Sendable () -> Void] = []
    /// Asks the socket directly; nil once the request is over (the socket may be reused).
    private var probe: (@Sendable () -> Bool)?

    /// A signal that never fires by itself: for tests and for calling handlers directly.
    public init() {}

    init(probe: @escaping @Sendable () -> Bool) {
        self.probe = probe
    }

    /// True once the client is known to be gone. Cheap.
    public var isDisconnected: Bool {
        condition.lock()
        defer { condition.unlock() }
        return disconnected
    }

    /// False once the client is known to be gone; also asks the socket right now,
    /// so it can notice a disconnect before the monitor thread does.
    public var isClientConnected: Bool {
        condition.lock()
        let probe = disconnected ? nil : self.probe
        let known = disconnected
        condition.unlock()
        if known { return false }
        if let probe, !probe() {
            markDisconnected()
            return false
        }
        return true
    }

    /// Runs `handler` once when the client disconnects — right away, on this
    /// thread, when it already has. Handlers run outside any server lock and
    /// must be quick (flag a cancellation, signal a queue).
    public func onDisconnect(_ handler: @escaping @Sendable () -> Void) {
        condition.lock()
        if disconnected {
            condition.unlock()
            handler()
            return
        }
        handlers.append(handler)
        condition.unlock()
    }

    /// Blocks until the client disconnects or `timeout` passes; true when disconnected.
    @discardableResult
    public func wait(timeout: TimeInterval) -> Bool {
        let deadline = Date(timeIntervalSinceNow: timeout)
        condition.lock()
        defer { condition.unlock() }
        while !disconnected {
            if !condition.wait(until: deadline) { break }
        }
        return disconnected
    }

    /// Flips the signal (idempotent) and runs the handlers once.
    func markDisconnected() {
        condition.lock()
        if disconnected {
            condition.unlock()
            return
        }
        disconnected = true
        probe = nil
        let toRun = handlers
        handlers = []
        condition.broadcast()
        condition.unlock()
        for handler in toRun { handler() }
    }

    /// The request is over: stop probing a socket that may soon belong to someone else.
    func detachProbe() {
        condition.lock()
        probe = nil
        handlers = []
        condition.unlock()
    }
}
