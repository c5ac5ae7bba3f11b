/// Cross-origin resource sharing, as the old Flask services did it
/// (`Access-Control-Allow-Origin: *` and answered preflights).
///
/// - A preflight (`OPTIONS` with `Origin` and `Access-Control-Request-Method`)
///   on a path some route matches is answered `204` here, before auth (browsers
///   send preflights without credentials).
/// - Every other response, errors included, gets `Access-Control-Allow-Origin`.
///
/// Add it first (outermost) so it also decorates errors thrown by inner middleware.
public struct CORSMiddleware: HTTPMiddleware {
    /// `Access-Control-Allow-Origin` value.
    public var allowOrigin: String
    /// Methods announced to preflights.
    public var allowMethods: [HTTPMethod]
    /// Headers announced to preflights; nil echoes the preflight's
    /// `Access-Control-Request-Headers` (any header allowed, like Flask-CORS).
    public var allowHeaders: [String]?
    /// `Access-Control-Expose-Headers` on normal responses, if any.
    public var exposeHeaders: [String]
    /// `Access-Control-Max-Age` for preflights, in seconds.
    public var maxAge: Int?

    public init(allowOrigin: String = "*",
                allowMethods: [HTTPMethod] = [.GET, .HEAD, .POST, .PUT, .PATCH, .DELETE, .OPTIONS],
                allowHeaders: [String]? = nil, exposeHeaders: [String] = [], maxAge: Int? = 86400) {
        self.allowOrigin = allowOrigin
        self.allowMethods = allowMethods
        self.allowHeaders = allowHeaders
        self.exposeHeaders = exposeHeaders
        self.maxAge = maxAge
    }

    public func respond(to request: HTTPRequest, context: RequestContext, next: HTTPNext) throws -> HTTPResponse {
        if request.method == .OPTIONS, request.route != nil, request.headers.contains("Origin"),
           request.headers.contains("Access-Control-Request-Method") {
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
        var response = try next(request, context)
        response.headers.set("Access-Control-Allow-Origin", allowOrigin)
        if !exposeHeaders.isEmpty {
            response.headers.set("Access-Control-Expose-Headers", exposeHeaders.joined(separator: ", "))
        }
        return response
    }
}
