/// `Authorization: Bearer KEY` on every route but `/health` and the playground page `/` — and, for loopback clients
/// only, the two compatibility routes (`/generate_story`, `/translate`), because the old
/// frontend calls them without a key from the same machine. A compatibility route
/// reached from another address needs the key like everything else.
struct APIKeyMiddleware: HTTPMiddleware {
    private let bearer: BearerAuthMiddleware
    private let legacyOpenOnLoopback: Bool

    init(apiKeys: [String], legacyOpenOnLoopback: Bool) {
        bearer = BearerAuthMiddleware(apiKeys: apiKeys, exemptRoutes: ["GET /health", "GET /"])
        self.legacyOpenOnLoopback = legacyOpenOnLoopback
    }

    func respond(to request: HTTPRequest, context: RequestContext, next: HTTPNext) throws -> HTTPResponse {
        if legacyOpenOnLoopback, let route = request.route, LegacyRoutes.all.contains(route),
           Self.isLoopback(context.remoteAddress) {
            return try next(request, context)
        }
        return try bearer.respond(to: request, context: context, next: next)
    }

    /// `127.x.x.x:port` (IPv4 only: the server listens on IPv4).
    static func isLoopback(_ address: String) -> Bool {
        address.hasPrefix("127.")
    }
}
