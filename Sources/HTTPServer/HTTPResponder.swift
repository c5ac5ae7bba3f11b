/// Anything that answers requests: a `Router`, a middleware-wrapped router, or a closure.
///
/// Called concurrently from the connections' threads, so it must be thread-safe.
/// It may block (waiting for a model is expected): each connection has its own
/// thread and a slow handler only holds up its own client.
public protocol HTTPResponder: Sendable {
    /// The response to `request`. Throwing an `HTTPResponseError` sends its
    /// status; any other error becomes a 500 (details logged, not sent).
    func respond(to request: HTTPRequest, context: RequestContext) throws -> HTTPResponse

    /// The response for an error that happened outside `respond`: a malformed or
    /// oversized request, a timeout, too many connections — and for errors
    /// `respond` threw. `report.path` is set when the request line was readable,
    /// so one responder can use different body shapes per API.
    /// Defaults to `HTTPErrorRenderers.openAI`.
    func errorResponse(for report: HTTPErrorReport) -> HTTPResponse
}

extension HTTPResponder {
    public func errorResponse(for report: HTTPErrorReport) -> HTTPResponse {
        HTTPErrorRenderers.openAI(report)
    }
}

/// A responder made of a closure, for tests and tiny servers.
public struct ClosureResponder: HTTPResponder {
    private let handler: @Sendable (HTTPRequest, RequestContext) throws -> HTTPResponse
    private let renderer: HTTPErrorRenderer

    public init(
        errorRenderer: @escaping HTTPErrorRenderer = HTTPErrorRenderers.openAI,
        _ handler: @escaping @Sendable (HTTPRequest, RequestContext) throws -> HTTPResponse
    ) {
        self.handler = handler
        self.renderer = errorRenderer
    }

    public func respond(to request: HTTPRequest, context: RequestContext) throws -> HTTPResponse {
        try handler(request, context)
    }

    public func errorResponse(for report: HTTPErrorReport) -> HTTPResponse {
        renderer(report)
    }
}

/// Facts about the connection a request came in on.
public struct RequestContext: Sendable {
    /// The client's address, `ip:port`.
    public let remoteAddress: String
    /// The local port the request came in on: with several listeners, tells which one.
    public let localPort: Int
    /// The name given to the listener in `HTTPServer.listen(...)` (a default
    /// model for an extra port, say), or nil.
    public let listenerName: String?
    /// Unique per connection within the process, for logs.
    public let connectionID: UInt64
    /// 0 for the first request on the connection, then 1, 2... with keep-alive.
    public let requestIndex: Int
    /// Fires when the client goes away; see `DisconnectSignal`.
    public let disconnect: DisconnectSignal

    public init(
        remoteAddress: String = "127.0.0.1:0", localPort: Int = 0, listenerName: String? = nil,
        connectionID: UInt64 = 0, requestIndex: Int = 0, disconnect: DisconnectSignal = DisconnectSignal()
    ) {
        self.remoteAddress = remoteAddress
        self.localPort = localPort
        self.listenerName = listenerName
        self.connectionID = connectionID
        self.requestIndex = requestIndex
        self.disconnect = disconnect
    }

    /// Shortcut for `disconnect.isClientConnected`.
    public var isClientConnected: Bool { disconnect.isClientConnected }
}
