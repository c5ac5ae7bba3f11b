import Foundation
import HTTPServer

/// One RESP2 reply.
public enum RedisValue: Equatable, Sendable {
    /// `+OK`
    case simple(String)
    /// `-ERR message`: returned as a value inside pipelines and arrays; `RedisClient.send`
    /// throws it as `RedisError.server`.
    case error(String)
    /// `:42`
    case integer(Int64)
    /// `$5\r\nhello`: binary-safe bytes.
    case bulk(Data)
    /// `$-1` or `*-1`.
    case null
    /// `*2\r\n...`
    case array([RedisValue])

    /// The text of a simple string or bulk string (UTF-8), else nil.
    public var string: String? {
        switch self {
        case .simple(let text): return text
        case .bulk(let data): return String(decoding: data, as: UTF8.self)
        case .integer(let value): return String(value)
        default: return nil
        }
    }

    /// The bytes of a bulk or simple string (or an integer's digits), else nil.
    public var data: Data? {
        switch self {
        case .bulk(let data): return data
        case .simple(let text): return Data(text.utf8)
        case .integer(let value): return Data(String(value).utf8)
        default: return nil
        }
    }

    public var integer: Int64? {
        switch self {
        case .integer(let value): return value
        case .bulk, .simple: return string.flatMap { Int64($0) }
        default: return nil
        }
    }

    public var array: [RedisValue]? {
        if case .array(let values) = self { return values }
        return nil
    }

    public var isNull: Bool { self == .null }

    /// `self`, or throws `RedisError.server` for an error reply.
    public func throwingError() throws -> RedisValue {
        if case .error(let message) = self { throw RedisError.server(message: message) }
        return self
    }

    /// A flat `[field, value, field, value...]` array (HGETALL, stream entry fields) as a dictionary.
    public var fieldMap: [String: Data]? {
        guard let values = array, values.count % 2 == 0 else { return nil }
        var map: [String: Data] = [:]
        var index = 0
        while index < values.count {
            guard let key = values[index].string, let value = values[index + 1].data else { return nil }
            map[key] = value
            index += 2
        }
        return map
    }
}

/// Encodes commands as RESP2 arrays of bulk strings.
enum RedisCommandEncoder {
    static func encode(_ arguments: [Data], into buffer: inout [UInt8]) {
        buffer.append(contentsOf: Array("*\(arguments.count)\r\n".utf8))
        for argument in arguments {
            buffer.append(contentsOf: Array("$\(argument.count)\r\n".utf8))
            buffer.append(contentsOf: argument)
            buffer.append(13)
            buffer.append(10)
        }
    }
}
