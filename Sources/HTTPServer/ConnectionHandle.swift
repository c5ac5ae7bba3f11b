#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// The socket of one connection, shared between its thread (which owns and
/// closes it) and the server (which may force it shut at the end of a graceful
/// shutdown). The lock makes "force shut" and "close" exclusive, so the server
/// never calls shutdown(2) on an fd number that was closed and reused.
///
/// Sendable by hand: every mutable field is read and written under `lock`.
final class ConnectionHandle: @unchecked Sendable {
    let id: UInt64
    let fd: Int32
    private let lock = NSLock()
    private var closed = false
    private var currentSignal: DisconnectSignal?

    init(id: UInt64, fd: Int32) {
        self.id = id
        self.fd = fd
    }

    /// The disconnect signal of the request in progress, fired by `forceShut`.
    func setCurrentSignal(_ signal: DisconnectSignal?) {
        lock.lock()
        currentSignal = signal
        lock.unlock()
    }

    /// Makes every blocked read or write on the socket fail at once and tells the
    /// producer of the current request to stop.
    func forceShut() {
        lock.lock()
        if !closed { _ = shutdown(fd, Int32(SHUT_RDWR)) }
        let signal = currentSignal
        lock.unlock()
        signal?.markDisconnected()
    }

    /// True when the client closed, half-closed or reset the connection.
    func peerHasGone() -> Bool {
        lock.lock()
        defer { lock.unlock() }
        return closed || SocketIO.peerHasGone(fd)
    }

    func close() {
        lock.lock()
        defer { lock.unlock() }
        guard !closed else { return }
        closed = true
        _ = Glibc.close(fd)
    }
}
