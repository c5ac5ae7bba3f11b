import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// One listening socket of an `HTTPServer`, with its own accept thread and responder.
///
/// Made by `HTTPServer.listen(...)`. `close()` stops accepting on this port
/// only; connections already accepted carry on.
public final class Listener: Sendable {
    /// The address it is bound to.
    public let host: String
    /// The port it is bound to — the one the kernel picked when 0 was asked for.
    public let port: Int
    /// The name given in `listen(...)`, passed to handlers as `RequestContext.listenerName`.
    public let name: String?

    let responder: HTTPResponder
    private let fd: Int32
    private let wake: SocketIO.WakePipe
    /// Strong: a listening socket keeps its server alive until `shutdown()`, which
    /// drops the listeners (an accept thread must never outlive the server it calls).
    private let server: HTTPServer
    private let exited = DispatchSemaphore(value: 0)
    private let closed = Atomic(false)

    init(host: String, port: Int, name: String?, responder: HTTPResponder, server: HTTPServer) throws {
        guard (0...65535).contains(port) else { throw HTTPServerError.invalidPort(port) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port)).bigEndian
        let numericHost = host == "localhost" ? "127.0.0.1" : (host.isEmpty ? "0.0.0.0" : host)
        guard inet_pton(AF_INET, numericHost, &address.sin_addr) == 1 else {
            throw HTTPServerError.invalidAddress(host)
        }

        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw HTTPServerError.systemCallFailed("socket", errno) }
        var reuse: Int32 = 1
        _ = setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &reuse, socklen_t(MemoryLayout<Int32>.size))
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard bound == 0 else {
            let code = errno
            Glibc.close(fd)
            throw HTTPServerError.bindFailed(host: host, port: port, errno: code)
        }
        guard Glibc.listen(fd, server.configuration.listenBacklog) == 0 else {
            let code = errno
            Glibc.close(fd)
            throw HTTPServerError.systemCallFailed("listen", code)
        }
        // Non-blocking, so that accept() after poll() cannot hang on a connection reset in between.
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
        var actual = sockaddr_in()
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &actual) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        do {
            wake = try SocketIO.WakePipe()
        } catch {
            Glibc.close(fd)
            throw error
        }
        self.fd = fd
        self.host = numericHost
        self.port = Int(UInt16(bigEndian: actual.sin_port))
        self.name = name
        self.responder = responder
        self.server = server
    }

    func start() {
        let thread = Thread { [self] in acceptLoop() }
        thread.name = "http-accept-\(port)"
        thread.start()
    }

    /// Stops accepting and closes the socket; returns once the accept thread is gone.
    public func close() {
        let wasClosed = closed.exchange(true, ordering: .acquiringAndReleasing)
        guard !wasClosed else { return }
        wake.signal()
        exited.wait()
        wake.close()
    }

    private func acceptLoop() {
        defer {
            Glibc.close(fd)
            exited.signal()
        }
        while true {
            var fds = [
                pollfd(fd: fd, events: Int16(POLLIN), revents: 0),
                pollfd(fd: wake.readFD, events: Int16(POLLIN), revents: 0),
            ]
            let ready = poll(&fds, 2, -1)
            if ready < 0 {
                if errno == EINTR { continue }
                server.configuration.log?("poll on listener \(port) failed: errno \(errno)")
                return
            }
            if fds[1].revents != 0 { return }

            var peer = sockaddr_in()
            var length = socklen_t(MemoryLayout<sockaddr_in>.size)
            let client = withUnsafeMutablePointer(to: &peer) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { accept(fd, $0, &length) }
            }
            if client < 0 {
                switch errno {
                case EINTR, EAGAIN, EWOULDBLOCK, ECONNABORTED, EPROTO:
                    continue
                default:
                    // EMFILE, ENFILE, ENOBUFS...: back off instead of spinning on a full fd table.
                    server.configuration.log?("accept on \(port) failed: errno \(errno); backing off")
                    var wakeOnly = pollfd(fd: wake.readFD, events: Int16(POLLIN), revents: 0)
                    if poll(&wakeOnly, 1, 100) > 0 { return }
                    continue
                }
            }
            _ = fcntl(client, F_SETFD, FD_CLOEXEC)
            server.accepted(client, remoteAddress: Listener.describe(peer), by: self)
        }
    }

    static func describe(_ address: sockaddr_in) -> String {
        var address = address
        var text = [CChar](repeating: 0, count: Int(INET_ADDRSTRLEN))
        inet_ntop(AF_INET, &address.sin_addr, &text, socklen_t(text.count))
        let host = String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return "\(host):\(UInt16(bigEndian: address.sin_port))"
    }
}
