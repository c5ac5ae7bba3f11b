import Foundation
import HTTPServer

/// Where Redis is: `redis://[[user]:password@]host[:port][/db]`.
public struct RedisURL: Equatable, Sendable, CustomStringConvertible {
    public var host: String
    public var port: Int
    public var database: Int
    public var username: String?
    public var password: String?

    public init(host: String, port: Int = 6379, database: Int = 0, username: String? = nil, password: String? = nil) {
        self.host = host
        self.port = port
        self.database = database
        self.username = username
        self.password = password
    }

    public init(parsing text: String) throws {
        guard let components = URLComponents(string: text), components.scheme == "redis" else {
            throw RedisError.invalidURL(text, reason: "it must start with redis://")
        }
        guard let host = components.host, !host.isEmpty else { throw RedisError.invalidURL(text, reason: "no host") }
        self.host = host
        port = components.port ?? 6379
        guard (1...65535).contains(port) else { throw RedisError.invalidURL(text, reason: "port \(port) out of range") }
        let path = components.path.drop(while: { $0 == "/" })
        if path.isEmpty {
            database = 0
        } else {
            guard let database = Int(path), database >= 0 else {
                throw RedisError.invalidURL(text, reason: "the path must be a database number, not '\(path)'")
            }
            self.database = database
        }
        let user = components.user.flatMap { $0.isEmpty ? nil : $0 }
        username = user?.removingPercentEncoding ?? user
        password = components.password.map { $0.removingPercentEncoding ?? $0 }
        if username != nil && password == nil {
            // redis://secret@host: a lone user part is the password, as redis-cli reads it.
            password = username
            username = nil
        }
    }

    /// The URL with the password hidden, for logs and /health.
    public var description: String {
        let credentials = password == nil ? "" : "\(username ?? ""):***@"
        return "redis://\(credentials)\(host):\(port)/\(database)"
    }
}
