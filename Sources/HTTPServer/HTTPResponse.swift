import Foundation

/// A response: status, headers and a body that is either bytes or a stream.
///
/// The server owns the framing headers: any `Content-Length`,
/// `Transfer-Encoding` or `Connection` set here is replaced (a handler that
/// sets `Connection: close` still gets the connection closed after the
/// response). Header fields whose name is not a token or whose value holds
/// CR/LF/NUL are dropped rather than sent, so a value echoed from a request
/// cannot split the response.
public struct HTTPResponse: Sendable {
    public var status: HTTPStatus
    public var headers: HTTPHeaders
    public var body: Body

    public enum Body: Sendable {
        /// A complete body, sent with `Content-Length`.
        case bytes([UInt8])
        /// A body produced while it is sent. The closure runs on the connection's
        /// thread after the status and headers went out; the response ends when it
        /// returns. If it throws, the connection is closed without the final chunk,
        /// so the client sees a truncated response rather than a complete one (the
        /// status cannot change any more: report errors in-band, e.g. as an SSE event,
        /// before returning).
        case stream(@Sendable (ResponseBodyWriter) throws -> Void)
    }

    public init(status: HTTPStatus = .ok, headers: HTTPHeaders = HTTPHeaders(), body: Body = .bytes([])) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    /// A body-less response (`204 No Content` by default).
    public static func empty(status: HTTPStatus = .noContent, headers: HTTPHeaders = HTTPHeaders()) -> HTTPResponse {
        HTTPResponse(status: status, headers: headers)
    }

    /// A UTF-8 text response.
    public static func text(
        _ text: String, status: HTTPStatus = .ok,
        contentType: String = "text/plain; charset=utf-8"
    ) -> HTTPResponse {
        HTTPResponse(status: status, headers: ["Content-Type": contentType], body: .bytes(Array(text.utf8)))
    }

    /// A response whose body is already-encoded JSON.
    public static func json(bytes: [UInt8], status: HTTPStatus = .ok) -> HTTPResponse {
        HTTPResponse(status: status, headers: ["Content-Type": "application/json"], body: .bytes(bytes))
    }

    /// A JSON response encoding `value`.
    public static func json<Value: Encodable>(
        _ value: Value, status: HTTPStatus = .ok,
        encoder: JSONEncoder = JSONEncoder()
    ) throws -> HTTPResponse {
        json(bytes: Array(try encoder.encode(value)), status: status)
    }

    /// A streamed response of any content type.
    public static func stream(
        status: HTTPStatus = .ok, contentType: String, headers: HTTPHeaders = HTTPHeaders(),
        _ produce: @escaping @Sendable (ResponseBodyWriter) throws -> Void
    ) -> HTTPResponse {
        var headers = headers
        headers.set("Content-Type", contentType)
        return HTTPResponse(status: status, headers: headers, body: .stream(produce))
    }

    /// A server-sent events stream (`text/event-stream`):
    ///
    ///     return .eventStream { events in
    ///         for token in generator {
    ///             guard events.send(data: json(token)) else { return }   // client gone: stop
    ///         }
    ///         events.send(data: "[DONE]")
    ///     }
    public static func eventStream(
        status: HTTPStatus = .ok, headers: HTTPHeaders = HTTPHeaders(),
        _ produce: @escaping @Sendable (ServerSentEventWriter) throws -> Void
    ) -> HTTPResponse {
        var headers = headers
        headers.set("Content-Type", "text/event-stream")
        headers.set("Cache-Control", "no-cache")
        // Ask reverse proxies (nginx) not to buffer the stream.
        headers.set("X-Accel-Buffering", "no")
        return HTTPResponse(
            status: status, headers: headers,
            body: .stream { writer in
                try produce(ServerSentEventWriter(writer: writer))
            })
    }
}
