import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// The socket of one connection, shared between its thread (which owns and
/// closes it) and the server (which may force it shut at the end of a graceful
/// shutdown). The lock makes "force shut" and "close" exclusive, so the server
/// never calls shutdown(2) on an fd number that was closed and reused.
final class ConnectionHandle: Sendable {
    let id: UInt64
    let fd: Int32
    private struct State {
        var closed = false
        var currentSignal: DisconnectSignal?
    }
    private let state = Mutex(State())

    init(id: UInt64, fd: Int32) {
        self.id = id
        self.fd = fd
    }

    /// The disconnect signal of the request in progress, fired by `forceShut`.
    func setCurrentSignal(_ signal: DisconnectSignal?) {
        state.withLock { $0.currentSignal = signal }
    }

    /// Makes every blocked read or write on the socket fail at once and tells the
    /// producer of the current request to stop.
    func forceShut() {
        let signal = state.withLock { state in
            if !state.closed { _ = shutdown(fd, Int32(SHUT_RDWR)) }
            return state.currentSignal
        }
        signal?.markDisconnected()
    }

    /// True when the client closed, half-closed or reset the connection.
    func peerHasGone() -> Bool {
        state.withLock { $0.closed || SocketIO.peerHasGone(fd) }
    }

    func close() {
        state.withLock { state in
            guard !state.closed else { return }
            state.closed = true
            _ = Glibc.close(fd)
        }
    }
}
