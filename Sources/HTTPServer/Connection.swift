import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Serves one accepted socket: read head, read body, respond, write, repeat
/// while keep-alive allows.
///
/// Threading model: one thread per connection, blocking sockets, and poll()
/// with a deadline before every read and write. Why not an event loop: this
/// server's handlers block for long stretches (waiting for a model that
/// generates a few tokens per second on a 2-core CPU), connections are few
/// (capped, 256 by default) and long-lived (SSE streams), and throughput is
/// bound by inference, not by the HTTP layer. A thread per connection lets a
/// handler simply block, keeps each timeout an explicit deadline in straight-line
/// code, and costs ~8 MiB of virtual (not resident) stack per connection.
/// Dispatch's global queues are not used for connections because blocking work
/// on them can exhaust their bounded thread pool and stall unrelated work.
final class Connection {
    private let handle: ConnectionHandle
    private let server: HTTPServer
    private let listener: Listener
    private let remoteAddress: String
    private let configuration: HTTPServerConfiguration
    private var parser: RequestParser

    init(handle: ConnectionHandle, server: HTTPServer, listener: Listener, remoteAddress: String) {
        self.handle = handle
        self.server = server
        self.listener = listener
        self.remoteAddress = remoteAddress
        self.configuration = server.configuration
        self.parser = RequestParser(limits: server.configuration.parserLimits)
    }

    private var fd: Int32 { handle.fd }

    func run() {
        defer { server.connectionEnded(handle) }
        var noDelay: Int32 = 1
        _ = setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &noDelay, socklen_t(MemoryLayout<Int32>.size))

        var readBuffer = [UInt8](repeating: 0, count: 64 * 1024)
        let acceptedAt = SocketIO.now()
        // The first request's header clock starts at accept: a client that
        // connects and says nothing gets the header timeout, not the idle one.
        var headStartedAt: UInt64? = acceptedAt
        var bodyStartedAt: UInt64?
        var idleSince = acceptedAt
        var requestIndex = 0
        var sentContinue = false

        while true {
            switch parser.next() {
            case .request(let request):
                let outcome = serve(request, index: requestIndex)
                requestIndex += 1
                switch outcome {
                case .keepAlive: break
                case .closeGracefully:
                    closeGracefully()
                    return
                case .closeNow:
                    return
                }
                headStartedAt = nil
                bodyStartedAt = nil
                sentContinue = false
                idleSince = SocketIO.now()
                continue
            case .failure(let error):
                failAndClose(error)
                return
            case .needMoreData:
                break
            }

            let deadline: UInt64
            let timeoutError: HTTPConnectionError?
            switch parser.phase {
            case .idle:
                if server.isDraining { return }
                deadline =
                    requestIndex == 0
                    ? acceptedAt &+ nanoseconds(configuration.headerTimeout)
                    : idleSince &+ nanoseconds(configuration.idleTimeout)
                timeoutError = nil  // nothing of a request arrived: close without a word
            case .head:
                let start = headStartedAt ?? SocketIO.now()
                headStartedAt = start
                deadline = start &+ nanoseconds(configuration.headerTimeout)
                timeoutError = .headerTimeout
            case .body:
                let start = bodyStartedAt ?? SocketIO.now()
                bodyStartedAt = start
                if parser.expectsContinue && !sentContinue {
                    sentContinue = true
                    guard write(ResponseHead.continueResponse) else { return }
                }
                deadline = start &+ nanoseconds(configuration.bodyTimeout)
                timeoutError = .bodyTimeout
            }

            let wakeFD = parser.phase == .idle ? server.drainWakeFD : -1
            let result = readBuffer.withUnsafeMutableBytes {
                SocketIO.read(fd, into: $0, deadline: deadline, wakeFD: wakeFD)
            }
            switch result {
            case .data(let count):
                parser.feed(readBuffer[0..<count])
            case .endOfStream:
                // A client that half-closed mid-request can still read the 400.
                if let error = parser.errorAtEndOfStream { failAndClose(error) }
                return
            case .timedOut:
                if let timeoutError { failAndClose(timeoutError) }
                return
            case .woken, .failed:
                return
            }
        }
    }

    // MARK: Serving

    private enum ServeOutcome {
        /// Another request may follow.
        case keepAlive
        /// The response went out; close without destroying it.
        case closeGracefully
        /// The client is gone or the stream was cut: just close.
        case closeNow
    }

    /// Runs the responder and writes its response. The request's disconnect watch
    /// ends here, before any lingering close.
    private func serve(_ request: HTTPRequest, index: Int) -> ServeOutcome {
        let handle = self.handle
        let signal = DisconnectSignal(probe: { !handle.peerHasGone() })
        handle.setCurrentSignal(signal)
        let watchID = server.disconnectMonitor?.watch(fd, signal: signal)
        defer {
            if let watchID { server.disconnectMonitor?.unwatch(watchID) }
            signal.detachProbe()
            handle.setCurrentSignal(nil)
        }
        let context = RequestContext(
            remoteAddress: remoteAddress, localPort: listener.port, listenerName: listener.name,
            connectionID: handle.id, requestIndex: index, disconnect: signal)
        let responder = listener.responder
        let response: HTTPResponse
        do {
            response = try responder.respond(to: request, context: context)
        } catch {
            if !(error is HTTPResponseError) {
                configuration.log?("\(request.method) \(request.path): handler error: \(error)")
            }
            let report = HTTPErrorReport(error: error, path: request.path, method: request.method)
            response = (error as? HTTPResponseError)?.customResponse ?? responder.errorResponse(for: report)
        }
        let written = write(response, for: request, signal: signal)
        if written.keepAlive { return .keepAlive }
        return written.delivered ? .closeGracefully : .closeNow
    }

    /// Writes `response`; `delivered` is false when the client is gone or the
    /// stream was aborted, `keepAlive` whether another request may follow.
    private func write(_ response: HTTPResponse, for request: HTTPRequest, signal: DisconnectSignal)
        -> (delivered: Bool, keepAlive: Bool)
    {
        var keepAlive =
            request.wantsKeepAlive && !server.isDraining
            && !response.headers.tokens(for: "Connection").contains("close")
        let sendsBody = request.method != .HEAD && response.status.allowsBody

        switch response.body {
        case .bytes(let body):
            var out = head(
                response, framing: response.status.allowsBody ? .contentLength(body.count) : .none,
                request: request, keepAlive: keepAlive)
            if sendsBody { out += body }
            let delivered = write(out)
            if !delivered { signal.markDisconnected() }
            return (delivered, delivered && keepAlive && !signal.isDisconnected)

        case .stream(let produce):
            let chunked = request.version.isAtLeastHTTP11
            if !chunked && sendsBody { keepAlive = false }
            let framing: ResponseHead.Framing =
                !response.status.allowsBody ? .none : chunked ? .chunked : .closeDelimited
            guard write(head(response, framing: framing, request: request, keepAlive: keepAlive)) else {
                signal.markDisconnected()
                return (false, false)
            }
            guard sendsBody else { return (true, keepAlive && !signal.isDisconnected) }

            let writeTimeout = configuration.writeTimeout
            let fd = self.fd
            let writer = ResponseBodyWriter(disconnect: signal) { bytes in
                let framed = chunked ? ResponseHead.chunk(bytes) : bytes
                return SocketIO.writeAll(fd, framed, deadline: SocketIO.deadline(after: writeTimeout))
            }
            var completed = true
            do {
                try produce(writer)
            } catch {
                completed = false
                configuration.log?("\(request.method) \(request.path): stream aborted: \(error)")
            }
            writer.close()
            // Without the last chunk the client can tell the stream was cut short.
            guard completed, !signal.isDisconnected else { return (false, false) }
            if chunked {
                guard write(ResponseHead.lastChunk) else { return (false, false) }
            }
            return (true, keepAlive)
        }
    }

    private func head(
        _ response: HTTPResponse, framing: ResponseHead.Framing, request: HTTPRequest,
        keepAlive: Bool
    ) -> [UInt8] {
        ResponseHead.serialize(
            status: response.status, headers: response.headers, framing: framing,
            keepAlive: keepAlive, requestVersion: request.version,
            serverName: configuration.serverName)
    }

    // MARK: Errors and closing

    /// Answers a protocol error or timeout, then closes: after a framing error
    /// the rest of the byte stream cannot be trusted.
    private func failAndClose(_ error: Error) {
        let report = HTTPErrorReport(error: error, path: parser.currentPath, method: parser.currentMethod)
        let response = listener.responder.errorResponse(for: report)
        let body: [UInt8]
        if case .bytes(let bytes) = response.body { body = bytes } else { body = [] }
        var out = ResponseHead.serialize(
            status: response.status, headers: response.headers,
            framing: response.status.allowsBody ? .contentLength(body.count) : .none,
            keepAlive: false, requestVersion: .http1_1, serverName: configuration.serverName)
        out += body
        if write(out) { closeGracefully() }
    }

    /// Lingering close: send FIN, then read and discard what the client still
    /// sends until it closes (or `lingerTimeout`), so that closing a socket with
    /// unread data does not send a reset that would destroy our last response
    /// in the client's receive buffer.
    private func closeGracefully() {
        _ = shutdown(fd, Int32(SHUT_WR))
        SocketIO.drain(fd, deadline: SocketIO.deadline(after: configuration.lingerTimeout))
    }

    private func write(_ bytes: [UInt8]) -> Bool {
        SocketIO.writeAll(fd, bytes, deadline: SocketIO.deadline(after: configuration.writeTimeout))
    }

    private func nanoseconds(_ seconds: TimeInterval) -> UInt64 {
        let value = max(0, seconds) * 1e9
        return value >= Double(UInt64.max / 4) ? UInt64.max / 4 : UInt64(value)
    }
}
