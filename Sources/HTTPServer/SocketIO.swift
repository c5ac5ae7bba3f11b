import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Blocking-socket I/O with deadlines, via `poll(2)`. Everything here retries
/// on EINTR and never raises SIGPIPE (`MSG_NOSIGNAL`).
/// Blocking socket reads and writes with deadlines, for the server's connections and for other
/// clients over the same socket layer (the Redis client).
public enum SocketIO {
    /// Monotonic nanoseconds: deadlines must not move with the wall clock.
    public static func now() -> UInt64 { DispatchTime.now().uptimeNanoseconds }

    public static func deadline(after seconds: TimeInterval) -> UInt64 {
        let nanoseconds = max(0, seconds) * 1e9
        return now() &+ (nanoseconds >= Double(UInt64.max / 2) ? UInt64.max / 2 : UInt64(nanoseconds))
    }

    /// Milliseconds until `deadline` for poll(), rounded up, 0 when past.
    public static func pollTimeout(until deadline: UInt64) -> Int32 {
        let current = now()
        guard deadline > current else { return 0 }
        let milliseconds = (deadline - current + 999_999) / 1_000_000
        return Int32(clamping: milliseconds)
    }

    public enum ReadResult: Equatable, Sendable {
        case data(Int)
        case endOfStream
        case timedOut
        /// `wakeFD` became readable first (the server is draining).
        case woken
        case failed(Int32)
    }

    /// Reads what is available, waiting at most until `deadline`; also returns
    /// early when `wakeFD` (if >= 0) becomes readable.
    public static func read(
        _ fd: Int32, into buffer: UnsafeMutableRawBufferPointer, deadline: UInt64,
        wakeFD: Int32 = -1
    ) -> ReadResult {
        while true {
            var fds = [
                pollfd(fd: fd, events: Int16(POLLIN), revents: 0),
                pollfd(fd: wakeFD, events: Int16(POLLIN), revents: 0),
            ]
            let ready = poll(&fds, 2, pollTimeout(until: deadline))
            if ready < 0 {
                if errno == EINTR { continue }
                return .failed(errno)
            }
            if ready == 0 {
                if now() >= deadline { return .timedOut }
                continue
            }
            if fds[0].revents == 0 { return .woken }
            let received = recv(fd, buffer.baseAddress, buffer.count, Int32(MSG_DONTWAIT))
            if received > 0 { return .data(received) }
            if received == 0 { return .endOfStream }
            if errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK { continue }
            return .failed(errno)
        }
    }

    /// Writes all of `bytes` or gives up at `deadline`; false if the peer is gone
    /// or too slow.
    public static func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer, deadline: UInt64) -> Bool {
        guard var pointer = bytes.baseAddress else { return true }
        var remaining = bytes.count
        while remaining > 0 {
            let sent = send(fd, pointer, remaining, Int32(MSG_NOSIGNAL | MSG_DONTWAIT))
            if sent > 0 {
                pointer += sent
                remaining -= sent
                continue
            }
            if sent < 0 && errno == EINTR { continue }
            guard sent < 0, errno == EAGAIN || errno == EWOULDBLOCK else { return false }
            var pfd = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
            let ready = poll(&pfd, 1, pollTimeout(until: deadline))
            if ready < 0 && errno == EINTR { continue }
            if ready <= 0 { return false }
            if pfd.revents & Int16(POLLERR | POLLHUP | POLLNVAL) != 0 { return false }
        }
        return true
    }

    public static func writeAll(_ fd: Int32, _ bytes: [UInt8], deadline: UInt64) -> Bool {
        bytes.withUnsafeBytes { writeAll(fd, $0, deadline: deadline) }
    }

    /// True when the peer closed, half-closed or reset the connection. Zero timeout.
    public static func peerHasGone(_ fd: Int32) -> Bool {
        var pfd = pollfd(fd: fd, events: pollRDHUP, revents: 0)
        guard poll(&pfd, 1, 0) > 0 else { return false }
        return pfd.revents & (pollRDHUP | Int16(POLLHUP | POLLERR | POLLNVAL)) != 0
    }

    /// Linux's POLLRDHUP (peer shut down its writing side); the Glibc module
    /// only exposes it under _GNU_SOURCE.
    static let pollRDHUP: Int16 = 0x2000

    /// Reads and discards whatever the peer sends until it closes, `deadline`
    /// passes or `maxBytes` went by: the "lingering close" after an error response.
    static func drain(_ fd: Int32, deadline: UInt64, maxBytes: Int = 1 << 20) {
        var discarded = 0
        var scratch = [UInt8](repeating: 0, count: 16 * 1024)
        while discarded < maxBytes {
            let result = scratch.withUnsafeMutableBytes { read(fd, into: $0, deadline: deadline) }
            guard case .data(let count) = result else { return }
            discarded += count
        }
    }

    /// Reads and discards what is already buffered, without waiting.
    static func drainWithoutWaiting(_ fd: Int32) {
        var scratch = [UInt8](repeating: 0, count: 16 * 1024)
        for _ in 0..<64 {
            let received = scratch.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT)) }
            if received <= 0 { return }
        }
    }

    /// A pipe whose read end becomes readable, for good, once `signal()` is
    /// called: lets any number of threads blocked in poll() wake up at once.
    ///
    /// Sendable by hand: every mutable field is read and written under `lock`.
    final class WakePipe: @unchecked Sendable {
        let readFD: Int32
        private let writeFD: Int32
        private let lock = NSLock()
        private var signalled = false
        private var closed = false

        init() throws {
            var fds: [Int32] = [-1, -1]
            guard pipe(&fds) == 0 else { throw HTTPServerError.systemCallFailed("pipe", errno) }
            readFD = fds[0]
            writeFD = fds[1]
            for fd in fds { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        }

        func signal() {
            lock.lock()
            defer { lock.unlock() }
            guard !signalled, !closed else { return }
            signalled = true
            var byte: UInt8 = 1
            _ = Glibc.write(writeFD, &byte, 1)
        }

        func close() {
            lock.lock()
            defer { lock.unlock() }
            guard !closed else { return }
            closed = true
            _ = Glibc.close(readFD)
            _ = Glibc.close(writeFD)
        }
    }
}

/// Why a server or listener could not be set up.
public enum HTTPServerError: Error, CustomStringConvertible {
    /// The host is not a dotted IPv4 address (or `localhost`).
    case invalidAddress(String)
    /// The port is outside 0...65535.
    case invalidPort(Int)
    /// A system call failed; the `Int32` is errno.
    case systemCallFailed(String, Int32)
    /// `bind(2)` failed (port in use: errno EADDRINUSE).
    case bindFailed(host: String, port: Int, errno: Int32)
    /// The server was shut down; it cannot listen again.
    case shutDown

    public var description: String {
        switch self {
        case .invalidAddress(let host): return "Not an IPv4 address: \(host)"
        case .invalidPort(let port): return "Invalid port: \(port)"
        case .systemCallFailed(let call, let code): return "\(call) failed: \(String(cString: strerror(code)))"
        case .bindFailed(let host, let port, let code):
            return "Cannot bind \(host):\(port): \(String(cString: strerror(code)))"
        case .shutDown: return "The server has been shut down."
        }
    }
}

/// Errors of the connection itself, answered like parser errors.
public enum HTTPConnectionError: Error, Equatable, CustomStringConvertible, HTTPResponseError {
    /// The request line and headers did not arrive within `headerTimeout` (408).
    case headerTimeout
    /// The body did not arrive within `bodyTimeout` (408).
    case bodyTimeout
    /// The server is at `maxConnections` (503 with `Retry-After`).
    case tooManyConnections(retryAfterSeconds: Int)

    public var status: HTTPStatus {
        switch self {
        case .headerTimeout, .bodyTimeout: return .requestTimeout
        case .tooManyConnections: return .serviceUnavailable
        }
    }

    public var message: String { description }

    public var errorCode: String? {
        switch self {
        case .headerTimeout: return "header_timeout"
        case .bodyTimeout: return "body_timeout"
        case .tooManyConnections: return "too_many_connections"
        }
    }

    public var headers: HTTPHeaders {
        if case .tooManyConnections(let seconds) = self { return ["Retry-After": String(seconds)] }
        return HTTPHeaders()
    }

    public var description: String {
        switch self {
        case .headerTimeout: return "The request headers were not received in time."
        case .bodyTimeout: return "The request body was not received in time."
        case .tooManyConnections: return "The server has too many open connections; retry shortly."
        }
    }
}
