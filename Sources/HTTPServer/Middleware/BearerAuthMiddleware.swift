/// Requires `Authorization: Bearer <key>` with one of the configured API keys.
///
///     router.use(BearerAuthMiddleware(apiKeys: ["sk-..."],
///                                     exemptRoutes: ["/health", "GET /v1/models"]))
///
/// - Keys are compared in constant time, against every key, so response timing
///   tells nothing about how much of a key was right or which key matched.
/// - An empty key list disables the check (a local install without keys). Give an
///   `APIKeyRing` to change the keys while serving.
/// - `OPTIONS` is never checked: CORS preflights carry no credentials.
/// - Exemptions are per route: a route pattern as registered (`/v1/jobs/{id}`,
///   any method) or `METHOD pattern` (`GET /v1/models`), matched against the
///   route the router resolved — not the raw path, so `/health/../v1/x` or
///   `/health?` tricks cannot borrow an exemption. `isExempt` can decide anything else.
/// - Requests to unknown paths are checked too (401 before 404), so routes
///   cannot be enumerated without a key.
///
/// Failures throw a 401 `HTTPError` with `WWW-Authenticate: Bearer`, codes
/// `missing_api_key` or `invalid_api_key`, rendered in the router's error shape.
public struct BearerAuthMiddleware: HTTPMiddleware {
    public let keys: APIKeyRing
    public let exemptRoutes: Set<String>
    private let isExempt: (@Sendable (HTTPRequest) -> Bool)?

    public init(
        apiKeys: [String], exemptRoutes: Set<String> = [],
        isExempt: (@Sendable (HTTPRequest) -> Bool)? = nil
    ) {
        self.init(keys: APIKeyRing(apiKeys), exemptRoutes: exemptRoutes, isExempt: isExempt)
    }

    public init(keys: APIKeyRing, exemptRoutes: Set<String> = [], isExempt: (@Sendable (HTTPRequest) -> Bool)? = nil) {
        self.keys = keys
        self.exemptRoutes = Set(exemptRoutes.map(BearerAuthMiddleware.normalize))
        self.isExempt = isExempt
    }

    public func respond(to request: HTTPRequest, context: RequestContext, next: HTTPNext) throws -> HTTPResponse {
        guard !keys.isEmpty, request.method != .OPTIONS, !exempts(request) else {
            return try next(request, context)
        }
        guard let header = request.headers["Authorization"], let token = BearerAuthMiddleware.bearerToken(header) else {
            throw HTTPError(
                .unauthorized, "Missing API key: send 'Authorization: Bearer <key>'.",
                code: "missing_api_key", headers: ["WWW-Authenticate": "Bearer"])
        }
        guard keys.matches(token) else {
            throw HTTPError(
                .unauthorized, "Incorrect API key provided.", code: "invalid_api_key",
                headers: ["WWW-Authenticate": #"Bearer error="invalid_token""#])
        }
        return try next(request, context)
    }

    private func exempts(_ request: HTTPRequest) -> Bool {
        if let route = request.route {
            if exemptRoutes.contains(route) || exemptRoutes.contains("\(request.method.rawValue) \(route)") {
                return true
            }
            if request.method == .HEAD && exemptRoutes.contains("GET \(route)") { return true }
        }
        return isExempt?(request) ?? false
    }

    /// `Bearer <token>`, scheme case-insensitive (RFC 9110 §11.1).
    static func bearerToken(_ header: String) -> String? {
        let parts = header.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: true)
        guard parts.count == 2, asciiCaseInsensitiveEquals(String(parts[0]), "Bearer") else { return nil }
        let token = parts[1].trimmingHTTPWhitespace()
        return token.isEmpty ? nil : token
    }

    /// "GET  /x/" -> "GET /x"; "/x/" -> "/x", to compare with `Route.pattern`.
    private static func normalize(_ entry: String) -> String {
        let parts = entry.split(separator: " ", omittingEmptySubsequences: true)
        func trimSlash(_ path: Substring) -> String {
            path.count > 1 && path.hasSuffix("/") ? String(path.dropLast()) : String(path)
        }
        if parts.count == 2 { return "\(parts[0]) \(trimSlash(parts[1]))" }
        return parts.first.map(trimSlash) ?? ""
    }
}
