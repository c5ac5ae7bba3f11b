import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Watches the sockets of requests in progress and fires their `DisconnectSignal`
/// as soon as the client closes or resets the connection — even while the
/// handler writes nothing (a long prompt evaluation, a job waiting in a queue).
///
/// One thread per server, blocked in `poll(2)` over the watched sockets plus a
/// pipe that tells it the set changed (Swift's Glibc module has no epoll; for a
/// few hundred sockets poll is just as good). Only `POLLRDHUP` is asked for
/// (`POLLHUP`/`POLLERR` always come), not `POLLIN`, so pipelined bytes waiting
/// in a socket do not wake it. Events are matched to registrations by a unique
/// id checked under the lock, so a socket that was unwatched while the thread
/// was in poll() (and whose fd number may already be reused) never fires the
/// wrong request's signal.
///
/// Sendable by hand: every mutable field is read and written under `lock`.
final class DisconnectMonitor: @unchecked Sendable {
    private let lock = NSLock()
    private var watched: [UInt64: (fd: Int32, signal: DisconnectSignal)] = [:]
    private var nextID: UInt64 = 1
    private var stopping = false
    private let changeReadFD: Int32
    private let changeWriteFD: Int32
    private let stopped = DispatchSemaphore(value: 0)

    init() throws {
        var fds: [Int32] = [-1, -1]
        guard pipe(&fds) == 0 else { throw HTTPServerError.systemCallFailed("pipe", errno) }
        changeReadFD = fds[0]
        changeWriteFD = fds[1]
        for fd in fds {
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
            _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
        }
        let thread = Thread { [self] in run() }
        thread.name = "http-disconnect-monitor"
        thread.start()
    }

    /// Starts watching `fd` for `signal`; returns the id to pass to `unwatch`.
    func watch(_ fd: Int32, signal: DisconnectSignal) -> UInt64 {
        lock.lock()
        let id = nextID
        nextID += 1
        watched[id] = (fd, signal)
        lock.unlock()
        notifyChange()
        return id
    }

    /// Stops watching. Call before the fd is closed.
    func unwatch(_ id: UInt64) {
        lock.lock()
        let removed = watched.removeValue(forKey: id) != nil
        lock.unlock()
        if removed { notifyChange() }
    }

    /// Stops the thread and closes the pipe. Call only when no connection can
    /// call `watch`/`unwatch` any more.
    func stop() {
        lock.lock()
        stopping = true
        lock.unlock()
        notifyChange()
        stopped.wait()
        close(changeReadFD)
        close(changeWriteFD)
    }

    private func notifyChange() {
        var byte: UInt8 = 1
        // Non-blocking: a full pipe already means "changed".
        _ = Glibc.write(changeWriteFD, &byte, 1)
    }

    private func run() {
        var scratch = [UInt8](repeating: 0, count: 256)
        while true {
            lock.lock()
            if stopping {
                lock.unlock()
                break
            }
            let snapshot = watched.map { (id: $0.key, fd: $0.value.fd) }
            lock.unlock()

            var fds = [pollfd(fd: changeReadFD, events: Int16(POLLIN), revents: 0)]
            fds += snapshot.map { pollfd(fd: $0.fd, events: SocketIO.pollRDHUP, revents: 0) }
            let ready = poll(&fds, nfds_t(fds.count), -1)
            if ready < 0 {
                if errno == EINTR { continue }
                break
            }
            if fds[0].revents != 0 {
                while read(changeReadFD, &scratch, scratch.count) > 0 {}
            }
            var fired: [DisconnectSignal] = []
            lock.lock()
            for (index, entry) in snapshot.enumerated() where fds[index + 1].revents != 0 {
                // Still the same registration? Otherwise the fd may already be someone else's.
                guard let current = watched[entry.id], current.fd == entry.fd else { continue }
                watched.removeValue(forKey: entry.id)
                fired.append(current.signal)
            }
            lock.unlock()
            for signal in fired { signal.markDisconnected() }
        }
        stopped.signal()
    }
}
