/// Code that runs around a responder: authentication, CORS, metrics, a default
/// model per port...
///
///     struct Timing: HTTPMiddleware {
///         func respond(to request: HTTPRequest, context: RequestContext, next: HTTPNext) throws -> HTTPResponse {
///             let start = Date()
///             let response = try next(request, context)
///             log("\(request.path) \(response.status.code) \(Date().timeIntervalSince(start))")
///             return response
///         }
///     }
///
/// To refuse a request, throw an `HTTPResponseError` (or return a response
/// without calling `next`). Inside a `Router`, errors thrown by inner layers
/// come back from `next` as rendered error responses, so outer middleware (CORS)
/// still sees and can decorate them.
public protocol HTTPMiddleware: Sendable {
    func respond(to request: HTTPRequest, context: RequestContext, next: HTTPNext) throws -> HTTPResponse
}

/// The rest of the chain, as handed to a middleware: call it like a function.
public struct HTTPNext: Sendable {
    private let body: @Sendable (HTTPRequest, RequestContext) throws -> HTTPResponse

    public init(_ body: @escaping @Sendable (HTTPRequest, RequestContext) throws -> HTTPResponse) {
        self.body = body
    }

    public func callAsFunction(_ request: HTTPRequest, _ context: RequestContext) throws -> HTTPResponse {
        try body(request, context)
    }
}

/// A middleware made of a closure.
public struct ClosureMiddleware: HTTPMiddleware {
    private let body: @Sendable (HTTPRequest, RequestContext, HTTPNext) throws -> HTTPResponse

    public init(_ body: @escaping @Sendable (HTTPRequest, RequestContext, HTTPNext) throws -> HTTPResponse) {
        self.body = body
    }

    public func respond(to request: HTTPRequest, context: RequestContext, next: HTTPNext) throws -> HTTPResponse {
        try body(request, context, next)
    }
}

extension HTTPResponder {
    /// This responder wrapped in `middleware`, e.g. a per-listener wrapper around
    /// a shared router: `try server.listen(port: 8081, responder: router.wrapped(in: DefaultModel("nllb")))`.
    /// Errors the middleware throws are rendered with this responder's `errorResponse`.
    public func wrapped(in middleware: HTTPMiddleware) -> HTTPResponder {
        MiddlewareResponder(middleware: middleware, inner: self)
    }
}

struct MiddlewareResponder: HTTPResponder {
    let middleware: HTTPMiddleware
    let inner: HTTPResponder

    func respond(to request: HTTPRequest, context: RequestContext) throws -> HTTPResponse {
        let inner = self.inner
        let next = HTTPNext { request, context in
            do {
                return try inner.respond(to: request, context: context)
            } catch {
                return MiddlewareResponder.render(error, request, inner)
            }
        }
        do {
            return try middleware.respond(to: request, context: context, next: next)
        } catch {
            return MiddlewareResponder.render(error, request, inner)
        }
    }

    func errorResponse(for report: HTTPErrorReport) -> HTTPResponse {
        inner.errorResponse(for: report)
    }

    static func render(_ error: Error, _ request: HTTPRequest, _ responder: HTTPResponder) -> HTTPResponse {
        (error as? HTTPResponseError)?.customResponse
            ?? responder.errorResponse(for: HTTPErrorReport(error: error, path: request.path, method: request.method))
    }
}
