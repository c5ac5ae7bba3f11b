/// The browser origins (`scheme://host[:port]`) allowed to call the server from a web page,
/// or `*` for any. Shared by `CORSMiddleware` (which origins get CORS headers) and the API
/// key check (which origins may use the loopback exemption).
///
/// Origins compare as RFC 6454 serializes them: scheme and host case-insensitively, no
/// trailing slash, no path. An empty list allows no origin: CORS is off.
public struct AllowedOrigins: Sendable, Equatable {
    /// Normalized origins (`https://app.example.com:8443`), without `*`.
    public let origins: Set<String>
    /// `*` was given: every origin is allowed.
    public let allowsAny: Bool

    public init(_ values: [String]) {
        allowsAny = values.contains("*")
        origins = Set(values.filter { $0 != "*" }.map(Self.normalize))
    }

    /// No origin at all is allowed.
    public var isEmpty: Bool { !allowsAny && origins.isEmpty }

    /// True when a request's `Origin` header value is allowed.
    public func allows(_ origin: String) -> Bool {
        allowsAny || origins.contains(Self.normalize(origin))
    }

    /// Why `value` is not usable as an allowed origin, or nil when it is (`*`, `null`, or
    /// `scheme://host[:port]` with no path, query or credentials).
    public static func problem(with value: String) -> String? {
        if value == "*" || value == "null" { return nil }
        guard let schemeEnd = value.range(of: "://") else {
            return "'\(value)' is not an origin: write it as scheme://host[:port], e.g. https://app.example.com"
        }
        let scheme = value[..<schemeEnd.lowerBound]
        let authority = value[schemeEnd.upperBound...]
        let trimmed = authority.hasSuffix("/") ? authority.dropLast() : authority
        guard !scheme.isEmpty, scheme.allSatisfy({ $0.isLetter || $0.isNumber || "+-.".contains($0) }) else {
            return "'\(value)' has no valid scheme: write it as scheme://host[:port]"
        }
        guard !trimmed.isEmpty, !trimmed.contains(where: { "/?#@ ".contains($0) }) else {
            return "'\(value)' is not an origin: a browser sends only scheme://host[:port] (no path, query or user)"
        }
        return nil
    }

    /// `HTTPS://App.Example/` -> `https://app.example`.
    static func normalize(_ origin: String) -> String {
        var text = origin.trimmingHTTPWhitespace()
        while text.hasSuffix("/") { text.removeLast() }
        return String(text.lowercased())
    }
}
