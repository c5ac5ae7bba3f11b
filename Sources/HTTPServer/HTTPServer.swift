import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// The HTTP/1.1 server: listeners, connection threads, limits and graceful shutdown.
///
///     let server = HTTPServer(configuration: HTTPServerConfiguration())
///     let main = try server.listen(host: "0.0.0.0", port: 8080, responder: router)
///     try server.listen(port: 8081, name: "nllb-200", responder: router)   // an extra port
///     print("listening on", main.port)
///     ...
///     server.shutdown()   // stop accepting, let requests finish, then close
///
/// One server may have any number of listeners; they share its configuration,
/// its connection cap and its shutdown. Port 0 asks the kernel for a free port,
/// reported by `Listener.port`. IPv4 only.
///
/// Over `maxConnections`, a new connection gets a `503` with `Retry-After`
/// rendered by that listener's responder, written from the accept thread
/// without blocking, and is closed: clients learn quickly that they should back
/// off, instead of waiting in the kernel's backlog until their own timeout.
///
/// Creating a server sets SIGPIPE to ignored for the process (writes also use
/// `MSG_NOSIGNAL`): a client that disconnects must never kill the process.
///
/// Sendable by hand: every mutable field is read and written under `state` (an NSCondition, waited on while
/// draining).
public final class HTTPServer: @unchecked Sendable {
    public let configuration: HTTPServerConfiguration

    private let state = NSCondition()
    private var listenerList: [Listener] = []
    private var connections: [UInt64: ConnectionHandle] = [:]
    private var nextConnectionID: UInt64 = 1
    private var pendingRejections = 0
    private var draining = false
    private var shutDown = false
    private var drainWake: SocketIO.WakePipe?
    private(set) var disconnectMonitor: DisconnectMonitor?

    public init(configuration: HTTPServerConfiguration = HTTPServerConfiguration()) {
        self.configuration = configuration
        signal(SIGPIPE, SIG_IGN)
    }

    /// Binds `host:port` and starts accepting, serving requests with `responder`.
    ///
    /// - Parameters:
    ///   - host: a dotted IPv4 address, `localhost`, or `0.0.0.0` for every interface.
    ///   - port: 0 for any free port (see the returned listener's `port`).
    ///   - name: handed to handlers as `RequestContext.listenerName`.
    /// - Throws: `HTTPServerError` (address in use, bad address, server shut down).
    @discardableResult
    public func listen(
        host: String = "127.0.0.1", port: Int, name: String? = nil,
        responder: HTTPResponder
    ) throws -> Listener {
        state.lock()
        defer { state.unlock() }
        guard !shutDown else { throw HTTPServerError.shutDown }
        if drainWake == nil {
            drainWake = try SocketIO.WakePipe()
            disconnectMonitor = try DisconnectMonitor()
        }
        let listener = try Listener(host: host, port: port, name: name, responder: responder, server: self)
        listenerList.append(listener)
        listener.start()
        return listener
    }

    /// The listeners opened so far (empty after `shutdown()`).
    public var listeners: [Listener] {
        state.lock()
        defer { state.unlock() }
        return listenerList
    }

    /// Connections currently open (being served or kept alive).
    public var openConnectionCount: Int {
        state.lock()
        defer { state.unlock() }
        return connections.count
    }

    /// Stops accepting on every listener, closes idle kept-alive connections at
    /// once, lets requests in progress finish for up to `gracePeriod` seconds
    /// (default `configuration.shutdownGracePeriod`; their responses say
    /// `Connection: close`), then forces the rest shut and fires their
    /// `DisconnectSignal`s so producers stop. Returns when every connection is
    /// closed, or — if a handler ignores its signal and keeps blocking — two
    /// seconds after the forced close. Idempotent: a second call reports nothing.
    @discardableResult
    public func shutdown(gracePeriod: TimeInterval? = nil) -> DrainReport {
        state.lock()
        guard !shutDown else {
            state.unlock()
            return DrainReport()
        }
        shutDown = true
        draining = true
        let listeners = listenerList
        var report = DrainReport(openConnections: connections.count)
        state.unlock()

        for listener in listeners { listener.close() }
        state.lock()
        listenerList = []
        state.unlock()
        drainWake?.signal()

        let grace = gracePeriod ?? configuration.shutdownGracePeriod
        if !waitForConnections(until: Date(timeIntervalSinceNow: grace)) {
            state.lock()
            let remaining = Array(connections.values)
            state.unlock()
            configuration.log?("shutdown: forcing \(remaining.count) connection(s) closed after the grace period")
            report.forcedClosed = remaining.count
            for handle in remaining { handle.forceShut() }
            _ = waitForConnections(until: Date(timeIntervalSinceNow: 2))
        }

        state.lock()
        let clean = connections.isEmpty
        state.unlock()
        if clean {
            disconnectMonitor?.stop()
            drainWake?.close()
        } else {
            // A handler is still blocked: its thread may still touch these, so they stay open.
            configuration.log?("shutdown: a handler did not return; leaving its thread behind")
        }
        return report
    }

    /// What `shutdown` found and did.
    public struct DrainReport: Sendable, Equatable {
        /// Connections open when shutdown began (busy or kept alive).
        public var openConnections = 0
        /// Connections still busy after the grace period, closed by force.
        public var forcedClosed = 0
    }

    private func waitForConnections(until deadline: Date) -> Bool {
        state.lock()
        defer { state.unlock() }
        while !connections.isEmpty {
            if !state.wait(until: deadline) { break }
        }
        return connections.isEmpty
    }

    // MARK: Connections (called by listeners and connections)

    var isDraining: Bool {
        state.lock()
        defer { state.unlock() }
        return draining
    }

    /// Readable once the server starts draining: idle connections poll it and close.
    var drainWakeFD: Int32 { drainWake?.readFD ?? -1 }

    func accepted(_ fd: Int32, remoteAddress: String, by listener: Listener) {
        state.lock()
        if draining {
            state.unlock()
            Glibc.close(fd)
            return
        }
        guard connections.count < configuration.maxConnections else {
            state.unlock()
            reject(fd, by: listener)
            return
        }
        let id = nextConnectionID
        nextConnectionID += 1
        let handle = ConnectionHandle(id: id, fd: fd)
        connections[id] = handle
        state.unlock()

        // The connection is made on its own thread, which alone ever touches it.
        let thread = Thread {
            Connection(handle: handle, server: self, listener: listener, remoteAddress: remoteAddress).run()
        }
        thread.name = "http-connection-\(id)"
        thread.start()
    }

    func connectionEnded(_ handle: ConnectionHandle) {
        handle.close()
        state.lock()
        connections.removeValue(forKey: handle.id)
        state.broadcast()
        state.unlock()
    }

    /// 503 over the connection cap, without blocking the accept thread. The close
    /// is delayed a little (a bounded number at once) and preceded by a drain of
    /// what the client sent, so the 503 is not destroyed by a reset.
    private func reject(_ fd: Int32, by listener: Listener) {
        let report = HTTPErrorReport(
            error: HTTPConnectionError.tooManyConnections(
                retryAfterSeconds: configuration.retryAfterWhenBusy))
        let response = listener.responder.errorResponse(for: report)
        var body: [UInt8] = []
        if case .bytes(let bytes) = response.body { body = bytes }
        let out =
            ResponseHead.serialize(
                status: response.status, headers: response.headers,
                framing: .contentLength(body.count), keepAlive: false,
                requestVersion: .http1_1, serverName: configuration.serverName) + body
        _ = out.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL | MSG_DONTWAIT)) }
        _ = Glibc.shutdown(fd, Int32(SHUT_WR))

        state.lock()
        let delayClose = pendingRejections < 64
        if delayClose { pendingRejections += 1 }
        state.unlock()
        guard delayClose else {
            SocketIO.drainWithoutWaiting(fd)
            Glibc.close(fd)
            return
        }
        DispatchQueue.global().asyncAfter(deadline: .now() + 0.5) { [self] in
            SocketIO.drainWithoutWaiting(fd)
            Glibc.close(fd)
            state.lock()
            pendingRejections -= 1
            state.unlock()
        }
    }
}
