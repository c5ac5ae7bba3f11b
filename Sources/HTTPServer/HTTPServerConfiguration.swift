import Foundation

/// Every limit and timeout of the HTTP layer, with defaults for an internet-facing server.
///
///     var configuration = HTTPServerConfiguration()
///     configuration.maxBodyBytes = 8 << 20      // 8 MiB prompts
///     configuration.idleTimeout = 15
///     let server = HTTPServer(configuration: configuration)
public struct HTTPServerConfiguration: Sendable {
    // MARK: Sizes

    /// Longest request line (method, target, version, CRLF): 414 beyond. 8 KiB.
    public var maxRequestLineBytes = 8 * 1024
    /// Longest request line plus header section: 431 beyond. 16 KiB.
    public var maxRequestHeadBytes = 16 * 1024
    /// Most header fields in one request: 431 beyond. 100.
    public var maxHeaderCount = 100
    /// Largest request body, `Content-Length` or chunked: 413 beyond. 1 MiB.
    public var maxBodyBytes = 1 << 20
    /// Methods refused with 411 when they announce no body length.
    public var lengthRequiredMethods: Set<HTTPMethod> = [.POST, .PUT, .PATCH]

    // MARK: Time

    /// Time to receive a whole request line and header section, counted from the
    /// connection's accept for its first request (a client that connects and
    /// sends nothing is closed after it) and from the first byte for later ones:
    /// 408 when it runs out mid-request. Defeats slow-loris. 10 s.
    public var headerTimeout: TimeInterval = 10
    /// Time to receive a body once the head is complete: 408 beyond. 30 s.
    public var bodyTimeout: TimeInterval = 30
    /// How long a kept-alive connection may wait for its next request before it
    /// is closed silently. 5 s: clients reconnect cheaply, idle threads are not free.
    public var idleTimeout: TimeInterval = 5
    /// Longest time one write may take: a whole non-streamed response, or one
    /// streamed chunk. A client that stops reading is treated as disconnected. 30 s.
    public var writeTimeout: TimeInterval = 30
    /// After an error response, how long to keep reading (and discarding) what the
    /// client still sends before closing, so that closing with unread data does not
    /// reset the connection and destroy the error response in flight. 2 s.
    public var lingerTimeout: TimeInterval = 2
    /// How long `HTTPServer.shutdown()` lets in-flight requests finish by default. 10 s.
    public var shutdownGracePeriod: TimeInterval = 10

    // MARK: Connections

    /// Open connections per server (all its listeners). Over the cap a new
    /// connection is answered `503` with `Retry-After` straight from the accept
    /// thread and closed. 256.
    public var maxConnections = 256
    /// `Retry-After` seconds in the 503 sent over the connection cap.
    public var retryAfterWhenBusy = 1
    /// `listen(2)` backlog.
    public var listenBacklog: Int32 = 128

    // MARK: Misc

    /// Value of the `Server` header, or nil for none.
    public var serverName: String? = "octavo-infer"
    /// Receives one line per notable event (accept failures, handler errors, forced
    /// closes). Nil: silent.
    public var log: (@Sendable (String) -> Void)?

    public init() {}

    /// The parser's share of these settings.
    public var parserLimits: RequestParser.Limits {
        RequestParser.Limits(
            maxRequestLineBytes: maxRequestLineBytes, maxRequestHeadBytes: maxRequestHeadBytes,
            maxHeaderCount: maxHeaderCount, maxBodyBytes: maxBodyBytes,
            lengthRequiredMethods: lengthRequiredMethods)
    }
}
