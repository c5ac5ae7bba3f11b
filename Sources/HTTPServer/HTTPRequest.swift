import Foundation

/// A complete, validated request as the parser produced it.
///
/// Everything here has passed the parser's checks: the method is a valid token,
/// the path decoded to valid UTF-8 without NUL, header names are tokens and
/// values hold no CR, LF or NUL, and the body is at most the configured size.
public struct HTTPRequest: Sendable, Equatable {
    public var method: HTTPMethod
    /// The request target exactly as received (`/v1/jobs/a%20b?x=1`).
    public var target: String
    /// The percent-decoded path (`/v1/jobs/a b`). `*` for `OPTIONS *`.
    public var path: String
    /// The path split on `/` *before* decoding, each segment decoded, so that a
    /// `%2F` inside a segment stays in that segment. `/a/b` gives `["a", "b"]`.
    public var pathSegments: [String]
    /// The raw query string after `?`, without decoding, or nil when there was no `?`.
    public var query: String?
    /// Decoded `name=value` pairs of the query (`+` read as space), in order.
    public var queryItems: [(name: String, value: String)]
    public var version: HTTPVersion
    public var headers: HTTPHeaders
    public var body: [UInt8]
    /// Values of `{name}` segments of the matched route; filled in by `Router`.
    public var pathParameters: [String: String]
    /// The pattern of the route that matched (`/v1/jobs/{id}`), filled in by
    /// `Router`; nil before routing and when no route matched.
    public var route: String?

    public init(
        method: HTTPMethod, target: String, version: HTTPVersion = .http1_1,
        headers: HTTPHeaders = HTTPHeaders(), body: [UInt8] = []
    ) throws {
        let parsed = try RequestTarget.parse(Array(target.utf8), method: method)
        self.init(method: method, target: target, parsedTarget: parsed, version: version, headers: headers, body: body)
    }

    init(
        method: HTTPMethod, target: String, parsedTarget: RequestTarget, version: HTTPVersion,
        headers: HTTPHeaders, body: [UInt8]
    ) {
        self.method = method
        self.target = target
        self.path = parsedTarget.path
        self.pathSegments = parsedTarget.segments
        self.query = parsedTarget.query
        self.queryItems = parsedTarget.queryItems
        self.version = version
        self.headers = headers
        self.body = body
        self.pathParameters = [:]
        self.route = nil
    }

    /// The first decoded query value for `name`.
    public func queryValue(_ name: String) -> String? {
        queryItems.first { $0.name == name }?.value
    }

    /// The value of a `{name}` route parameter.
    public func parameter(_ name: String) -> String? { pathParameters[name] }

    /// Whether the client asked to keep the connection open after this request:
    /// HTTP/1.1 unless `Connection: close`, HTTP/1.0 only with `Connection: keep-alive`.
    public var wantsKeepAlive: Bool {
        let tokens = headers.tokens(for: "Connection")
        if version.isAtLeastHTTP11 { return !tokens.contains("close") }
        return tokens.contains("keep-alive") && !tokens.contains("close")
    }

    /// The body as UTF-8 text, or nil when it is not valid UTF-8.
    public var bodyText: String? { String(validating: body, as: UTF8.self) }

    /// Decodes the body as JSON; a malformed body becomes a 400 `HTTPError`
    /// (code `invalid_json`) that the error renderer turns into the API's error shape.
    public func decodeJSON<T: Decodable>(_ type: T.Type, decoder: JSONDecoder = JSONDecoder()) throws -> T {
        do {
            return try decoder.decode(type, from: Data(body))
        } catch {
            throw HTTPError(
                .badRequest,
                "The request body is not valid JSON for this endpoint: "
                    + "\(Self.describe(error))",
                code: "invalid_json")
        }
    }

    private static func describe(_ error: Error) -> String {
        switch error as? DecodingError {
        case .keyNotFound(let key, _)?: return "missing field '\(key.stringValue)'"
        case .typeMismatch(_, let context)?, .valueNotFound(_, let context)?:
            return "wrong type at '\(context.codingPath.map(\.stringValue).joined(separator: "."))'"
        case .dataCorrupted?: return "malformed JSON"
        default: return "malformed JSON"
        }
    }

    public static func == (lhs: HTTPRequest, rhs: HTTPRequest) -> Bool {
        lhs.method == rhs.method && lhs.target == rhs.target && lhs.path == rhs.path
            && lhs.pathSegments == rhs.pathSegments && lhs.query == rhs.query
            && lhs.queryItems.map(\.name) == rhs.queryItems.map(\.name)
            && lhs.queryItems.map(\.value) == rhs.queryItems.map(\.value)
            && lhs.version == rhs.version && lhs.headers == rhs.headers && lhs.body == rhs.body
            && lhs.pathParameters == rhs.pathParameters && lhs.route == rhs.route
    }
}
