#if canImport(Glibc)
    import Glibc
#endif

/// Serializes a status line and header section, with the framing headers the
/// server decided on. Handler-set framing headers are replaced, and fields that
/// could split the response (non-token name, CR/LF/NUL in the value) are dropped.
enum ResponseHead {
    enum Framing: Equatable {
        /// 1xx/204/304: no body and no length.
        case none
        case contentLength(Int)
        case chunked
        /// HTTP/1.0 stream: the body ends when the connection closes.
        case closeDelimited
    }

    static let framingHeaderNames = ["Content-Length", "Transfer-Encoding", "Connection"]

    static func serialize(
        status: HTTPStatus, headers: HTTPHeaders, framing: Framing, keepAlive: Bool,
        requestVersion: HTTPVersion, serverName: String?
    ) -> [UInt8] {
        var out = "HTTP/1.1 \(status.code) \(status.reasonPhrase)\r\n"
        out += "Date: \(httpDate())\r\n"
        if let serverName, !headers.contains("Server"), isSafeValue(serverName) { out += "Server: \(serverName)\r\n" }
        for (name, value) in headers
        where !framingHeaderNames.contains(where: { asciiCaseInsensitiveEquals($0, name) })
            && !asciiCaseInsensitiveEquals(name, "Date") && isSafeName(name) && isSafeValue(value)
        {
            out += "\(name): \(value)\r\n"
        }
        switch framing {
        case .none: break
        case .contentLength(let length): out += "Content-Length: \(length)\r\n"
        case .chunked: out += "Transfer-Encoding: chunked\r\n"
        case .closeDelimited: break
        }
        if !keepAlive {
            out += "Connection: close\r\n"
        } else if !requestVersion.isAtLeastHTTP11 {
            out += "Connection: keep-alive\r\n"
        }
        out += "\r\n"
        return Array(out.utf8)
    }

    /// `size-in-hex CRLF data CRLF`, in one buffer so it goes out in one send.
    static func chunk(_ bytes: [UInt8]) -> [UInt8] {
        var out = Array(String(bytes.count, radix: 16).utf8)
        out.reserveCapacity(out.count + bytes.count + 4)
        out += [ASCII.cr, ASCII.lf]
        out += bytes
        out += [ASCII.cr, ASCII.lf]
        return out
    }

    static let lastChunk: [UInt8] = Array("0\r\n\r\n".utf8)
    static let continueResponse: [UInt8] = Array("HTTP/1.1 100 Continue\r\n\r\n".utf8)

    static func isSafeName(_ name: String) -> Bool {
        !name.isEmpty && name.utf8.allSatisfy(ASCII.isTokenCharacter)
    }

    static func isSafeValue(_ value: String) -> Bool {
        value.utf8.allSatisfy { $0 >= 0x20 && $0 != 0x7F || $0 == ASCII.tab }
    }

    private static let weekdays = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
    private static let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

    /// IMF-fixdate (RFC 9110 §5.6.7): `Sun, 06 Nov 1994 08:49:37 GMT`.
    static func httpDate() -> String {
        var now = time(nil)
        var parts = tm()
        gmtime_r(&now, &parts)
        func twoDigits(_ value: Int32) -> String { value < 10 ? "0\(value)" : "\(value)" }
        let weekday = weekdays[Int(parts.tm_wday) % 7]
        let month = months[Int(parts.tm_mon) % 12]
        return "\(weekday), \(twoDigits(parts.tm_mday)) \(month) \(parts.tm_year + 1900) "
            + "\(twoDigits(parts.tm_hour)):\(twoDigits(parts.tm_min)):\(twoDigits(parts.tm_sec)) GMT"
    }
}
