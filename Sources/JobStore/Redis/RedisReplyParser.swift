import Foundation
import HTTPServer

/// Parses RESP2 replies from bytes as they arrive.
///
/// `parse` returns nil until a whole reply is buffered, and never reads past the bytes it was
/// given. Lengths and nesting are bounded, so a hostile or confused peer gets a
/// `RedisError.protocolViolation` rather than an allocation of its choosing.
struct RedisReplyParser {
    /// Longest simple string, error or length line (Redis's own lines are far shorter).
    static let maxLineLength = 64 * 1024
    /// Redis's own limit for a bulk string (`proto-max-bulk-len`).
    static let maxBulkLength = 512 * 1024 * 1024
    static let maxArrayCount = 1 << 24
    static let maxDepth = 16

    /// Parses one reply starting at `start`; returns it and the index just past it, or nil when
    /// the reply is incomplete.
    static func parse(_ bytes: [UInt8], from start: Int) throws -> (RedisValue, Int)? {
        try parse(bytes, from: start, depth: 0)
    }

    private static func parse(_ bytes: [UInt8], from start: Int, depth: Int) throws -> (RedisValue, Int)? {
        guard start < bytes.count else { return nil }
        guard let (line, next) = try readLine(bytes, from: start + 1) else { return nil }
        switch bytes[start] {
        case UInt8(ascii: "+"):
            return (.simple(String(decoding: line, as: UTF8.self)), next)
        case UInt8(ascii: "-"):
            return (.error(String(decoding: line, as: UTF8.self)), next)
        case UInt8(ascii: ":"):
            return (.integer(try integer(line)), next)
        case UInt8(ascii: "$"):
            let length = try integer(line)
            if length == -1 { return (.null, next) }
            guard length >= 0, length <= maxBulkLength else {
                throw RedisError.protocolViolation("bulk string length \(length) out of range")
            }
            let end = next + Int(length)
            guard end + 2 <= bytes.count else { return nil }
            guard bytes[end] == 13, bytes[end + 1] == 10 else {
                throw RedisError.protocolViolation("bulk string not followed by CRLF")
            }
            return (.bulk(Data(bytes[next..<end])), end + 2)
        case UInt8(ascii: "*"):
            let count = try integer(line)
            if count == -1 { return (.null, next) }
            guard count >= 0, count <= maxArrayCount else {
                throw RedisError.protocolViolation("array length \(count) out of range")
            }
            guard depth < maxDepth else { throw RedisError.protocolViolation("arrays nested deeper than \(maxDepth)") }
            var values: [RedisValue] = []
            values.reserveCapacity(min(Int(count), 1024))
            var index = next
            for _ in 0..<count {
                guard let (value, after) = try parse(bytes, from: index, depth: depth + 1) else { return nil }
                values.append(value)
                index = after
            }
            return (.array(values), index)
        default:
            throw RedisError.protocolViolation("unknown reply type byte \(bytes[start])")
        }
    }

    /// The bytes up to the next CRLF and the index after it; nil when no CRLF is buffered yet.
    private static func readLine(_ bytes: [UInt8], from start: Int) throws -> (ArraySlice<UInt8>, Int)? {
        var index = start
        let limit = min(bytes.count, start + maxLineLength + 2)
        while index + 1 < limit {
            if bytes[index] == 13 {
                guard bytes[index + 1] == 10 else { throw RedisError.protocolViolation("CR not followed by LF") }
                return (bytes[start..<index], index + 2)
            }
            index += 1
        }
        if bytes.count - start > maxLineLength + 1 {
            throw RedisError.protocolViolation("line longer than \(maxLineLength) bytes")
        }
        return nil
    }

    private static func integer(_ line: ArraySlice<UInt8>) throws -> Int64 {
        guard let value = Int64(String(decoding: line, as: UTF8.self)) else {
            throw RedisError.protocolViolation(
                "'\(String(decoding: line.prefix(40), as: UTF8.self))' is not an "
                    + "integer")
        }
        return value
    }
}
