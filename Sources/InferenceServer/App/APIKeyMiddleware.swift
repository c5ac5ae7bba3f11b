import HTTPServer

/// `Authorization: Bearer KEY` on every route but `/health` and the playground page `/` — and, for loopback clients
/// only, the two compatibility routes (`/generate_story`, `/translate`), because the old
/// frontend calls them without a key from the same machine. A compatibility route
/// reached from another address needs the key like everything else.
///
/// The exemption is for programs on this machine, not for every web page its browser opens:
/// a request carrying an `Origin` that is not an allowed origin (`--cors-origin`) needs the
/// key, and so does a request that came through a proxy (`Forwarded`, `X-Forwarded-For` or
/// `X-Real-IP`: a proxy on this machine makes every client look like 127.0.0.1).
struct APIKeyMiddleware: HTTPMiddleware {
    private let bearer: BearerAuthMiddleware
    private let legacyOpenOnLoopback: Bool
    private let allowedOrigins: AllowedOrigins

    init(keys: APIKeyRing, legacyOpenOnLoopback: Bool, allowedOrigins: AllowedOrigins = AllowedOrigins([])) {
        bearer = BearerAuthMiddleware(keys: keys, exemptRoutes: ["GET /health", "GET /"])
        self.legacyOpenOnLoopback = legacyOpenOnLoopback
        self.allowedOrigins = allowedOrigins
    }

    init(apiKeys: [String], legacyOpenOnLoopback: Bool, allowedOrigins: AllowedOrigins = AllowedOrigins([])) {
        self.init(keys: APIKeyRing(apiKeys), legacyOpenOnLoopback: legacyOpenOnLoopback, allowedOrigins: allowedOrigins)
    }

    func respond(to request: HTTPRequest, context: RequestContext, next: HTTPNext) throws -> HTTPResponse {
        if legacyOpenOnLoopback, let route = request.route, LegacyRoutes.all.contains(route),
            Self.isLoopback(context.remoteAddress), !Self.cameThroughProxy(request),
            request.headers["Origin"].map(allowedOrigins.allows) ?? true
        {
            return try next(request, context)
        }
        return try bearer.respond(to: request, context: context, next: next)
    }

    /// `127.x.x.x:port` or `[::1]:port`.
    static func isLoopback(_ address: String) -> Bool {
        address.hasPrefix("127.") || address.hasPrefix("[::1]:") || address.hasPrefix("[::ffff:127.")
    }

    static func cameThroughProxy(_ request: HTTPRequest) -> Bool {
        ["Forwarded", "X-Forwarded-For", "X-Real-IP"].contains { request.headers.contains($0) }
    }
}
