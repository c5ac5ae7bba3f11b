#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Refuses requests whose `Host` is not one of the server's own names, against DNS rebinding:
/// a web page on `evil.example` whose name the attacker re-points at 127.0.0.1 makes the browser
/// send `Host: evil.example` to this server, with the page's origin being "the same".
///
///     router.use(HostAllowlistMiddleware(allowedHosts: ["api.example.com"]))
///
/// Allowed: `localhost`, this machine's host name, every name in `allowedHosts` (the bound
/// address, the names a proxy or load balancer forwards), and any IP literal (`127.0.0.1`,
/// `[::1]`, `10.0.0.5`): rebinding needs a DNS name, so an address in `Host` is no attack.
/// Names compare case-insensitively, port and trailing dot ignored. A request without `Host`
/// (HTTP/1.0) does not come from a browser and passes.
///
/// Refusals are `421 Misdirected Request` with code `host_not_allowed`, naming the option to
/// add. `isActive` is asked per request, so the check can follow a reloadable key set.
public struct HostAllowlistMiddleware: HTTPMiddleware {
    public let allowedHosts: Set<String>
    private let exemptRoutes: Set<String>
    private let isActive: @Sendable () -> Bool

    public init(
        allowedHosts: [String], exemptRoutes: Set<String> = [], isActive: @escaping @Sendable () -> Bool = { true }
    ) {
        var names = Set(allowedHosts.map(Self.normalize))
        names.insert("localhost")
        if let own = Self.machineHostName() { names.insert(Self.normalize(own)) }
        self.allowedHosts = names
        self.exemptRoutes = exemptRoutes
        self.isActive = isActive
    }

    public func respond(to request: HTTPRequest, context: RequestContext, next: HTTPNext) throws -> HTTPResponse {
        guard isActive(), let host = request.headers["Host"], !isExempt(request), !allows(hostHeader: host) else {
            return try next(request, context)
        }
        throw HTTPError(
            HTTPStatus(code: 421, reasonPhrase: "Misdirected Request"),
            "Host '\(host)' is not a name of this server, so the request was refused "
                + "(DNS rebinding protection). If clients reach the server under this name, start it with "
                + "--allowed-host \(Self.hostName(fromHostHeader: host)).", code: "host_not_allowed")
    }

    /// True when a `Host` header value names this server.
    public func allows(hostHeader: String) -> Bool {
        let name = Self.hostName(fromHostHeader: hostHeader)
        if name.isEmpty { return false }
        return Self.isIPLiteral(name) || allowedHosts.contains(Self.normalize(name))
    }

    private func isExempt(_ request: HTTPRequest) -> Bool {
        guard let route = request.route else { return false }
        return exemptRoutes.contains(route) || exemptRoutes.contains("\(request.method.rawValue) \(route)")
            || (request.method == .HEAD && exemptRoutes.contains("GET \(route)"))
    }

    /// `Example.COM:8080` -> `Example.COM`; `[::1]:80` -> `::1`.
    static func hostName(fromHostHeader value: String) -> String {
        let text = value.trimmingHTTPWhitespace()
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else { return "" }
            return String(text[text.index(after: text.startIndex)..<close])
        }
        if let colon = text.lastIndex(of: ":") { return String(text[..<colon]) }
        return text
    }

    /// Lowercased, without a trailing dot or brackets.
    static func normalize(_ name: String) -> String {
        var text = name.lowercased()
        if text.hasPrefix("[") && text.hasSuffix("]") { text = String(text.dropFirst().dropLast()) }
        while text.hasSuffix(".") { text.removeLast() }
        return text
    }

    static func isIPLiteral(_ name: String) -> Bool {
        var v4 = in_addr()
        var v6 = in6_addr()
        return inet_pton(AF_INET, name, &v4) == 1 || inet_pton(AF_INET6, name, &v6) == 1
    }

    static func machineHostName() -> String? {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count - 1) == 0 else { return nil }
        let name = String(cString: buffer)
        return name.isEmpty ? nil : name
    }
}
