/// The decoded parts of a request target (RFC 9112 §3.2).
///
/// Accepted forms: origin-form (`/path?query`), absolute-form
/// (`http://host/path?query`, whose authority is ignored) and asterisk-form
/// (`*`, only with OPTIONS). Authority-form (CONNECT) is refused.
struct RequestTarget: Equatable {
    var path: String
    var segments: [String]
    var query: String?
    var queryItems: [(name: String, value: String)]

    static func == (lhs: RequestTarget, rhs: RequestTarget) -> Bool {
        lhs.path == rhs.path && lhs.segments == rhs.segments && lhs.query == rhs.query
            && lhs.queryItems.map(\.name) == rhs.queryItems.map(\.name)
            && lhs.queryItems.map(\.value) == rhs.queryItems.map(\.value)
    }

    static func parse(_ raw: [UInt8], method: HTTPMethod) throws(HTTPParserError) -> RequestTarget {
        guard !raw.isEmpty else { throw .invalidTarget }
        // Visible ASCII only; a fragment never belongs in a request.
        for byte in raw where byte <= 0x20 || byte >= 0x7F || byte == UInt8(ascii: "#") {
            throw .invalidTarget
        }
        if raw == [UInt8(ascii: "*")] {
            guard method == .OPTIONS else { throw .invalidTarget }
            return RequestTarget(path: "*", segments: [], query: nil, queryItems: [])
        }
        var pathAndQuery = raw[...]
        if raw.first != UInt8(ascii: "/") {
            pathAndQuery = try stripAbsoluteFormPrefix(raw)
        }
        let questionMark = pathAndQuery.firstIndex(of: UInt8(ascii: "?"))
        let rawPath = pathAndQuery[..<(questionMark ?? pathAndQuery.endIndex)]
        var query: String?
        var items: [(name: String, value: String)] = []
        if let questionMark {
            let rawQuery = pathAndQuery[(questionMark + 1)...]
            query = String(decoding: rawQuery, as: UTF8.self)
            items = try parseQuery(rawQuery)
        }
        // Split before decoding so an encoded slash stays inside its segment.
        let rawSegments = rawPath.dropFirst().split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: false)
        var segments: [String] = []
        segments.reserveCapacity(rawSegments.count)
        for rawSegment in rawSegments {
            segments.append(try percentDecode(rawSegment, plusAsSpace: false))
        }
        let path = try percentDecode(rawPath, plusAsSpace: false)
        return RequestTarget(path: path, segments: segments, query: query, queryItems: items)
    }

    private static func stripAbsoluteFormPrefix(_ raw: [UInt8]) throws(HTTPParserError) -> ArraySlice<UInt8> {
        let lowered = raw.prefix(8).map(asciiLower)
        let schemeLength: Int
        if lowered.starts(with: Array("http://".utf8)) {
            schemeLength = 7
        } else if lowered.starts(with: Array("https://".utf8)) {
            schemeLength = 8
        } else {
            throw .invalidTarget
        }
        let afterScheme = raw[schemeLength...]
        guard let firstByte = afterScheme.first, firstByte != UInt8(ascii: "/") else { throw .invalidTarget }
        if let slash = afterScheme.firstIndex(where: { $0 == UInt8(ascii: "/") || $0 == UInt8(ascii: "?") }) {
            if raw[slash] == UInt8(ascii: "?") { return Array("/".utf8)[...] + raw[slash...] }
            return raw[slash...]
        }
        return Array("/".utf8)[...]
    }

    private static func parseQuery(_ raw: ArraySlice<UInt8>) throws(HTTPParserError) -> [(name: String, value: String)]
    {
        var items: [(name: String, value: String)] = []
        for pair in raw.split(separator: UInt8(ascii: "&")) {
            if let equals = pair.firstIndex(of: UInt8(ascii: "=")) {
                items.append(
                    (
                        name: try percentDecode(pair[..<equals], plusAsSpace: true),
                        value: try percentDecode(pair[(equals + 1)...], plusAsSpace: true)
                    ))
            } else {
                items.append((name: try percentDecode(pair, plusAsSpace: true), value: ""))
            }
        }
        return items
    }

    /// Decodes `%XX` escapes; the result must be UTF-8 without NUL.
    static func percentDecode(_ raw: ArraySlice<UInt8>, plusAsSpace: Bool) throws(HTTPParserError) -> String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(raw.count)
        var index = raw.startIndex
        while index < raw.endIndex {
            let byte = raw[index]
            if byte == UInt8(ascii: "%") {
                guard index + 2 < raw.endIndex,
                    let high = hexValue(raw[index + 1]), let low = hexValue(raw[index + 2])
                else { throw .invalidTarget }
                bytes.append(high << 4 | low)
                index += 3
            } else {
                bytes.append(plusAsSpace && byte == UInt8(ascii: "+") ? UInt8(ascii: " ") : byte)
                index += 1
            }
        }
        guard !bytes.contains(0), let text = String(validating: bytes, as: UTF8.self) else { throw .invalidTarget }
        return text
    }
}

@inline(__always) func hexValue(_ byte: UInt8) -> UInt8? {
    switch byte {
    case UInt8(ascii: "0")...UInt8(ascii: "9"): return byte - UInt8(ascii: "0")
    case UInt8(ascii: "a")...UInt8(ascii: "f"): return byte - UInt8(ascii: "a") + 10
    case UInt8(ascii: "A")...UInt8(ascii: "F"): return byte - UInt8(ascii: "A") + 10
    default: return nil
    }
}
