/// The protocol version of a request: only HTTP/1.0 and HTTP/1.1 are served
/// (any other major version is answered with 505).
public struct HTTPVersion: Hashable, Sendable, CustomStringConvertible {
    public let major: Int
    public let minor: Int

    public init(major: Int, minor: Int) {
        self.major = major
        self.minor = minor
    }

    public static let http1_0 = HTTPVersion(major: 1, minor: 0)
    public static let http1_1 = HTTPVersion(major: 1, minor: 1)

    /// True from HTTP/1.1 on: persistent connections and chunked coding are the default.
    public var isAtLeastHTTP11: Bool { major > 1 || (major == 1 && minor >= 1) }

    public var description: String { "HTTP/\(major).\(minor)" }
}
