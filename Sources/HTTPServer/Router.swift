import Foundation
import Synchronization

/// Maps method + path pattern to handlers; is itself an `HTTPResponder`.
///
///     let router = Router()                              // OpenAI-style error bodies
///     router.use(CORSMiddleware())
///     router.use(BearerAuthMiddleware(apiKeys: keys, exemptRoutes: ["/health"]))
///     router.get("/health") { _, _ in .text("ok") }
///     router.get("/v1/jobs/{id}/events") { request, context in
///         let id = request.parameter("id") ?? ""
///         return .eventStream { events in ... }
///     }
///     try server.listen(port: 8080, responder: router)
///
/// Patterns: literal segments, `{name}` (one segment, percent-decoded, may hold
/// an encoded `/`), and a final `{name...}` (the rest of the path, at least one
/// segment, joined with `/`: model ids like `facebook/nllb-200`). The most
/// specific pattern wins (literal > `{name}` > `{name...}`, segment by segment),
/// whatever the registration order. A trailing slash is ignored.
///
/// Unknown path: 404. Known path, other method: 405 with `Allow`. `HEAD` falls
/// back to the `GET` handler (the body is not sent). `OPTIONS` on a known path
/// without its own handler: 204 with `Allow`.
///
/// Routes and middleware are registered before the server starts; registration
/// is thread-safe anyway. Every error — from a handler, a middleware, 404/405 —
/// is rendered by `errorRenderer`, which the server also uses for protocol
/// errors (malformed request, 413, 408...) on listeners serving this router.
public final class Router: HTTPResponder, Sendable {
    public typealias Handler = @Sendable (HTTPRequest, RequestContext) throws -> HTTPResponse

    private struct Table {
        var routes: [Route] = []
        var middlewares: [HTTPMiddleware] = []
        var renderer: HTTPErrorRenderer
        var internalErrorHook: (@Sendable (Error, HTTPRequest) -> Void)?
    }
    private let table: Mutex<Table>

    /// - Parameter errorRenderer: the error body shape for every error this router
    ///   answers; choose by `report.path` to serve several API styles.
    public init(errorRenderer: @escaping HTTPErrorRenderer = HTTPErrorRenderers.openAI) {
        table = Mutex(Table(renderer: errorRenderer))
    }

    /// The renderer for every error response; see `init(errorRenderer:)`.
    public var errorRenderer: HTTPErrorRenderer {
        get { table.withLock { $0.renderer } }
        set { table.withLock { $0.renderer = newValue } }
    }

    /// Called with errors that are not `HTTPResponseError`s (answered as 500), for logging.
    public func onInternalError(_ hook: @escaping @Sendable (Error, HTTPRequest) -> Void) {
        table.withLock { $0.internalErrorHook = hook }
    }

    // MARK: Registration

    /// Registers `handler` for `method` on `pattern`. A second registration of
    /// the same method and pattern replaces the first.
    public func add(_ method: HTTPMethod, _ pattern: String, _ handler: @escaping Handler) {
        let route = Route(method: method, pattern: pattern, handler: handler)
        table.withLock { table in
            table.routes.removeAll { $0.method == method && $0.pattern == route.pattern }
            table.routes.append(route)
        }
    }

    public func get(_ pattern: String, _ handler: @escaping Handler) { add(.GET, pattern, handler) }
    public func post(_ pattern: String, _ handler: @escaping Handler) { add(.POST, pattern, handler) }
    public func put(_ pattern: String, _ handler: @escaping Handler) { add(.PUT, pattern, handler) }
    public func patch(_ pattern: String, _ handler: @escaping Handler) { add(.PATCH, pattern, handler) }
    public func delete(_ pattern: String, _ handler: @escaping Handler) { add(.DELETE, pattern, handler) }

    /// Adds a middleware around every request, routed or not (so CORS headers
    /// reach 404s too). The first added is the outermost.
    public func use(_ middleware: HTTPMiddleware) {
        table.withLock { $0.middlewares.append(middleware) }
    }

    // MARK: Responding

    public func respond(to request: HTTPRequest, context: RequestContext) throws -> HTTPResponse {
        let (routes, middlewares) = table.withLock { ($0.routes, $0.middlewares) }

        var request = request
        let resolution = Router.resolve(request, in: routes)
        // Middleware sees the matched pattern (auth exemptions, CORS preflight decisions).
        if let best = resolution.pathMatch {
            request.route = best.route.pattern
            request.pathParameters = best.parameters
        }
        // Every layer renders its own errors, so an outer middleware's `next` returns
        // them as responses it can decorate (CORS headers on a 404 or a 401).
        let endpoint = HTTPNext { [self] request, context in
            do {
                return try Router.dispatch(request, context, resolution)
            } catch {
                return render(error, for: request)
            }
        }
        let chain = middlewares.reversed().reduce(endpoint) { next, middleware in
            HTTPNext { [self] request, context in
                do {
                    return try middleware.respond(to: request, context: context, next: next)
                } catch {
                    return render(error, for: request)
                }
            }
        }
        do {
            return try chain(request, context)
        } catch {
            return render(error, for: request)
        }
    }

    public func errorResponse(for report: HTTPErrorReport) -> HTTPResponse {
        errorRenderer(report)
    }

    private func render(_ error: Error, for request: HTTPRequest) -> HTTPResponse {
        if let error = error as? HTTPResponseError {
            return error.customResponse
                ?? errorRenderer(HTTPErrorReport(error: error, path: request.path, method: request.method))
        }
        let hook = table.withLock { $0.internalErrorHook }
        hook?(error, request)
        return errorRenderer(HTTPErrorReport(error: error, path: request.path, method: request.method))
    }

    private static func dispatch(
        _ request: HTTPRequest, _ context: RequestContext,
        _ resolution: Resolution
    ) throws -> HTTPResponse {
        switch resolution {
        case .matched(let match, _):
            return try match.route.handler(request, context)
        case .options(let allowed, _):
            return .empty(status: .noContent, headers: ["Allow": allowHeader(allowed)])
        case .methodNotAllowed(let allowed, _):
            throw HTTPError(
                .methodNotAllowed, "Method \(request.method) is not allowed for \(request.path).",
                code: "method_not_allowed", headers: ["Allow": allowHeader(allowed)])
        case .notFound:
            throw HTTPError(.notFound, "Invalid URL (\(request.method) \(request.path))", code: "unknown_url")
        }
    }

    private static func allowHeader(_ methods: [HTTPMethod]) -> String {
        methods.map(\.rawValue).joined(separator: ", ")
    }

    // MARK: Matching

    struct Match {
        let route: Route
        let parameters: [String: String]
    }

    enum Resolution {
        case matched(Match, allowed: [HTTPMethod])
        case options(allowed: [HTTPMethod], Match)
        case methodNotAllowed(allowed: [HTTPMethod], Match)
        case notFound

        var pathMatch: Match? {
            switch self {
            case .matched(let match, _), .options(_, let match), .methodNotAllowed(_, let match): return match
            case .notFound: return nil
            }
        }
    }

    /// The routes whose pattern matches the path, the most specific pattern first.
    static func resolve(_ request: HTTPRequest, in routes: [Route]) -> Resolution {
        var segments = request.pathSegments
        if segments.count > 1, segments.last == "" { segments.removeLast() }
        let candidates = routes.compactMap { route -> (match: Match, score: [Int])? in
            guard let parameters = route.match(segments) else { return nil }
            return (Match(route: route, parameters: parameters), route.specificity)
        }
        // Only the most specific pattern's methods count: /v1/jobs/stats (GET) is
        // not made to accept DELETE by a DELETE /v1/jobs/{id}.
        guard let best = candidates.max(by: { Route.isLessSpecific($0.score, than: $1.score) }) else {
            return .notFound
        }
        let samePattern = candidates.filter { $0.match.route.pattern == best.match.route.pattern }
        var allowed = samePattern.map(\.match.route.method)
        if allowed.contains(.GET) && !allowed.contains(.HEAD) { allowed.append(.HEAD) }
        if !allowed.contains(.OPTIONS) { allowed.append(.OPTIONS) }

        if let exact = samePattern.first(where: { $0.match.route.method == request.method }) {
            return .matched(exact.match, allowed: allowed)
        }
        if request.method == .HEAD, let get = samePattern.first(where: { $0.match.route.method == .GET }) {
            return .matched(get.match, allowed: allowed)
        }
        if request.method == .OPTIONS { return .options(allowed: allowed, best.match) }
        return .methodNotAllowed(allowed: allowed, best.match)
    }
}

/// A registered route; the pattern is parsed once.
struct Route: Sendable {
    enum Segment: Equatable {
        case literal(String)
        case parameter(String)
        case remainder(String)
    }

    let method: HTTPMethod
    /// The normalized pattern (no trailing slash), as reported in `HTTPRequest.route`.
    let pattern: String
    let segments: [Segment]
    let handler: Router.Handler

    init(method: HTTPMethod, pattern: String, handler: @escaping Router.Handler) {
        var parts = pattern.split(separator: "/", omittingEmptySubsequences: false).dropFirst().map(String.init)
        if parts.count > 1, parts.last == "" { parts.removeLast() }
        if parts.isEmpty { parts = [""] }
        segments = parts.enumerated().map { index, part in
            guard part.hasPrefix("{"), part.hasSuffix("}"), part.count > 2 else { return .literal(part) }
            let name = String(part.dropFirst().dropLast())
            if name.hasSuffix("..."), index == parts.count - 1 { return .remainder(String(name.dropLast(3))) }
            return .parameter(name)
        }
        self.pattern = "/" + parts.joined(separator: "/")
        self.method = method
        self.handler = handler
    }

    /// Literal 2, parameter 1, remainder 0, per segment.
    var specificity: [Int] {
        segments.map {
            switch $0 {
            case .literal: return 2
            case .parameter: return 1
            case .remainder: return 0
            }
        }
    }

    static func isLessSpecific(_ a: [Int], than b: [Int]) -> Bool {
        for (x, y) in zip(a, b) where x != y { return x < y }
        return a.count < b.count
    }

    /// The parameters when `path` (decoded segments) matches, else nil.
    func match(_ path: [String]) -> [String: String]? {
        var parameters: [String: String] = [:]
        for (index, segment) in segments.enumerated() {
            switch segment {
            case .literal(let text):
                guard index < path.count, path[index] == text else { return nil }
            case .parameter(let name):
                guard index < path.count, !path[index].isEmpty else { return nil }
                parameters[name] = path[index]
            case .remainder(let name):
                guard index < path.count else { return nil }
                let rest = path[index...]
                guard !rest.contains(where: \.isEmpty) else { return nil }
                parameters[name] = rest.joined(separator: "/")
                return parameters
            }
        }
        return path.count == segments.count ? parameters : nil
    }
}
