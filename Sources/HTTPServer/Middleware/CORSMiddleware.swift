/// Cross-origin resource sharing for an explicit list of browser origins.
///
///     router.use(CORSMiddleware(allowedOrigins: ["https://app.example.com"]))
///
/// - A request whose `Origin` is allowed gets `Access-Control-Allow-Origin` (that origin,
///   with `Vary: Origin`; or `*` when every origin is allowed), on errors too.
/// - A preflight (`OPTIONS` with `Origin` and `Access-Control-Request-Method`) on a path some
///   route matches is answered here, before auth (browsers send preflights without
///   credentials): `204` with the allowed methods and headers for an allowed origin, `403`
///   for any other, so the browser never sends the real request.
/// - Other origins get no CORS header at all: the browser will not let their page read the
///   response. An empty list turns CORS off entirely.
///
/// Add it first (outermost) so it also decorates errors thrown by inner middleware.
public struct CORSMiddleware: HTTPMiddleware {
    public let allowedOrigins: AllowedOrigins
    /// Methods announced to preflights.
    public var allowMethods: [HTTPMethod]
    /// Headers announced to preflights; nil echoes the preflight's
    /// `Access-Control-Request-Headers` (any header allowed, like Flask-CORS).
    public var allowHeaders: [String]?
    /// `Access-Control-Expose-Headers` on normal responses, if any.
    public var exposeHeaders: [String]
    /// `Access-Control-Max-Age` for preflights, in seconds.
    public var maxAge: Int?

    public init(
        allowedOrigins: [String] = ["*"],
        allowMethods: [HTTPMethod] = [.GET, .HEAD, .POST, .PUT, .PATCH, .DELETE, .OPTIONS],
        allowHeaders: [String]? = nil, exposeHeaders: [String] = [], maxAge: Int? = 86400
    ) {
        self.allowedOrigins = AllowedOrigins(allowedOrigins)
        self.allowMethods = allowMethods
        self.allowHeaders = allowHeaders
        self.exposeHeaders = exposeHeaders
        self.maxAge = maxAge
    }

    public func respond(to request: HTTPRequest, context: RequestContext, next: HTTPNext) throws -> HTTPResponse {
        let origin = request.headers["Origin"]
        if request.method == .OPTIONS, request.route != nil, let origin,
            request.headers.contains("Access-Control-Request-Method")
        {
            return try preflight(request, origin: origin)
        }
        var response = try next(request, context)
        if let allowOrigin = allowOriginValue(for: origin) {
            response.headers.set("Access-Control-Allow-Origin", allowOrigin)
            if allowOrigin != "*" { response.headers.add("Vary", "Origin") }
            if !exposeHeaders.isEmpty {
                response.headers.set("Access-Control-Expose-Headers", exposeHeaders.joined(separator: ", "))
            }
        }
        return response
    }

    private func preflight(_ request: HTTPRequest, origin: String) throws -> HTTPResponse {
        guard let allowOrigin = allowOriginValue(for: origin) else {
            throw HTTPError(
                .forbidden,
                "Origin '\(origin)' may not call this server from a browser: start the "
                    + "server "
                    + "with --cors-origin \(origin) to allow it.", code: "origin_not_allowed")
        }
        var headers: HTTPHeaders = [
            "Access-Control-Allow-Origin": allowOrigin,
            "Access-Control-Allow-Methods": allowMethods.map(\.rawValue).joined(separator: ", "),
        ]
        if let allowHeaders {
            headers.add("Access-Control-Allow-Headers", allowHeaders.joined(separator: ", "))
        } else if let requested = request.headers["Access-Control-Request-Headers"] {
            headers.add("Access-Control-Allow-Headers", requested)
        }
        if let maxAge { headers.add("Access-Control-Max-Age", String(maxAge)) }
        if allowOrigin != "*" { headers.add("Vary", "Origin") }
        return .empty(status: .noContent, headers: headers)
    }

    /// `*` when any origin is allowed, the request's origin when it is listed, else nil.
    /// A request without `Origin` gets `*` only when every origin is allowed (it is no browser's
    /// cross-origin request, and `*` keeps caches correct).
    private func allowOriginValue(for origin: String?) -> String? {
        if allowedOrigins.allowsAny { return "*" }
        guard let origin, allowedOrigins.allows(origin) else { return nil }
        return origin
    }
}
