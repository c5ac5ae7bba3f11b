/// Incremental HTTP/1.1 request parser: bytes in, requests or a typed error out.
///
/// Pure (no I/O, no clock), so it can be tested on byte arrays and fuzzed.
/// Feed it whatever arrived, then call `next()` until it says `.needMoreData`:
///
///     var parser = RequestParser(limits: .init())
///     parser.feed(bytesFromSocket)
///     while case .request(let request) = parser.next() { ... }
///
/// Requests pipelined behind the first stay buffered and come out of later
/// `next()` calls in order. After a `.failure` the parser is poisoned: every
/// later call returns the same error, because the framing of whatever follows
/// can no longer be trusted.
///
/// Memory is bounded: the head is limited by `maxRequestHeadBytes`, the body by
/// `maxBodyBytes`, and the caller only needs to feed more bytes when
/// `next()` asked for them. Every line is scanned once (a slow client sending one
/// byte at a time costs O(n), not O(n²)). Feeding the same bytes in one piece or
/// in any split gives the same sequence of results, which the fuzz tests check.
///
/// It accepts what h11 (a strict Python parser) accepts, which the differential
/// tests check on a committed corpus, except where a request-smuggling risk or a
/// feature we do not serve makes it refuse more, each with its own error:
/// CRLF line endings only; no obs-fold; exactly one `Content-Length` (no repeats,
/// no lists); no `Content-Length` together with `Transfer-Encoding`, nor
/// `Transfer-Encoding` in HTTP/1.0; no control characters in field values; no
/// framing fields in trailers. Like h11 it refuses whitespace before a header
/// colon, an empty line before a request line, a missing or repeated `Host`, and
/// any transfer coding but a single `chunked`.
public struct RequestParser {
    /// Size limits; `HTTPServerConfiguration.parserLimits` builds these from the server's configuration.
    public struct Limits: Sendable {
        /// Longest request line, CRLF included (414 beyond).
        public var maxRequestLineBytes: Int
        /// Longest request line plus header fields, every CRLF included (431 beyond).
        public var maxRequestHeadBytes: Int
        /// Most header fields (431 beyond). Chunked trailers count separately with the same limit.
        public var maxHeaderCount: Int
        /// Largest body, however it is framed (413 beyond).
        public var maxBodyBytes: Int
        /// Longest chunk-size line including extensions (400 beyond).
        public var maxChunkSizeLineBytes: Int
        /// Methods that must announce a body length (411 without `Content-Length` or chunked).
        public var lengthRequiredMethods: Set<HTTPMethod>

        public init(
            maxRequestLineBytes: Int = 8 * 1024, maxRequestHeadBytes: Int = 16 * 1024,
            maxHeaderCount: Int = 100, maxBodyBytes: Int = 1 << 20, maxChunkSizeLineBytes: Int = 1024,
            lengthRequiredMethods: Set<HTTPMethod> = [.POST, .PUT, .PATCH]
        ) {
            self.maxRequestLineBytes = maxRequestLineBytes
            self.maxRequestHeadBytes = maxRequestHeadBytes
            self.maxHeaderCount = maxHeaderCount
            self.maxBodyBytes = maxBodyBytes
            self.maxChunkSizeLineBytes = maxChunkSizeLineBytes
            self.lengthRequiredMethods = lengthRequiredMethods
        }
    }

    /// What `next()` found.
    public enum Outcome: Equatable, Sendable {
        case request(HTTPRequest)
        case needMoreData
        case failure(HTTPParserError)
    }

    /// Where the parser stands in the current request; the connection picks its timeout from it.
    public enum Phase: Equatable, Sendable {
        /// Between requests: nothing of the next one buffered.
        case idle
        /// Part of a request line or header section buffered.
        case head
        /// Head complete, body incomplete.
        case body
    }

    public let limits: Limits

    private var buffer: [UInt8] = []
    /// First byte not yet consumed.
    private var readIndex = 0
    /// Bytes before this index of the current line were already scanned.
    private var scanIndex = 0
    private var state: State = .requestLine
    private var failure: HTTPParserError?

    // The request being assembled.
    private var headBytes = 0
    private var method = HTTPMethod.GET
    private var rawTarget = ""
    private var target: RequestTarget?
    private var version = HTTPVersion.http1_1
    private var headers = HTTPHeaders()
    private var body: [UInt8] = []

    /// Decoded path of the request being parsed once its request line was valid,
    /// for rendering an error in the API's shape.
    public private(set) var currentPath: String?
    /// Method of the request being parsed once its request line was valid.
    public private(set) var currentMethod: HTTPMethod?
    /// True while the body of a request that sent `Expect: 100-continue` is
    /// awaited: the connection should send `100 Continue` once.
    public private(set) var expectsContinue = false

    private enum State: Equatable {
        case requestLine
        case headerLines
        case fixedBody(length: Int)
        case chunkSize
        case chunkData(remaining: Int)
        case chunkDataEnd
        case trailers(count: Int, bytes: Int)
    }

    public init(limits: Limits = Limits()) {
        self.limits = limits
    }

    // MARK: Input

    /// Appends bytes that arrived. Cheap; parsing happens in `next()`.
    public mutating func feed<Bytes: Collection>(_ bytes: Bytes) where Bytes.Element == UInt8 {
        compact()
        buffer.append(contentsOf: bytes)
    }

    /// Appends bytes that arrived, from a raw buffer (the socket read path).
    public mutating func feed(_ bytes: UnsafeRawBufferPointer) {
        compact()
        buffer.append(contentsOf: bytes)
    }

    /// Bytes fed but not yet consumed by a returned request.
    public var bufferedByteCount: Int { buffer.count - readIndex }

    public var phase: Phase {
        switch state {
        case .requestLine: return buffer.count > readIndex ? .head : .idle
        case .headerLines: return .head
        case .fixedBody, .chunkSize, .chunkData, .chunkDataEnd, .trailers: return .body
        }
    }

    /// The error to report when the peer closed the stream now: `.truncatedRequest`
    /// in the middle of a request, nil between requests.
    public var errorAtEndOfStream: HTTPParserError? {
        if let failure { return failure }
        return phase == .idle ? nil : .truncatedRequest
    }

    // MARK: Parsing

    /// The next complete request, `.needMoreData`, or the error that ends this connection.
    public mutating func next() -> Outcome {
        if let failure { return .failure(failure) }
        do {
            if let request = try advance() { return .request(request) }
            return .needMoreData
        } catch {
            failure = error
            expectsContinue = false
            return .failure(error)
        }
    }

    private mutating func advance() throws(HTTPParserError) -> HTTPRequest? {
        while true {
            switch state {
            case .requestLine:
                guard
                    let line = try nextLine(
                        limit: limits.maxRequestLineBytes, tooLong: .requestLineTooLong,
                        rejects: RequestParser.isForbiddenInRequestLine,
                        rejected: .invalidRequestLine)
                else { return nil }
                try parseRequestLine(line)
                headBytes = line.count + 2
                state = .headerLines

            case .headerLines:
                guard
                    let line = try nextLine(
                        limit: limits.maxRequestHeadBytes - headBytes,
                        tooLong: .headerSectionTooLarge)
                else { return nil }
                headBytes += line.count + 2
                if line.isEmpty {
                    if let request = try finishHead() { return request }
                    continue
                }
                guard headers.count < limits.maxHeaderCount else { throw .tooManyHeaders }
                let field = try RequestParser.parseFieldLine(line)
                headers.add(field.name, field.value)

            case .fixedBody(let length):
                guard buffer.count - readIndex >= length else { return nil }
                body = Array(buffer[readIndex..<(readIndex + length)])
                consume(length)
                return completeRequest()

            case .chunkSize:
                guard let line = try nextLine(limit: limits.maxChunkSizeLineBytes, tooLong: .invalidChunkedEncoding)
                else { return nil }
                let size = try parseChunkSize(line)
                if size == 0 {
                    state = .trailers(count: 0, bytes: 0)
                } else {
                    guard size <= limits.maxBodyBytes - body.count else { throw .bodyTooLarge }
                    state = .chunkData(remaining: size)
                }

            case .chunkData(let remaining):
                let available = buffer.count - readIndex
                guard available > 0 else { return nil }
                let taken = min(available, remaining)
                body.append(contentsOf: buffer[readIndex..<(readIndex + taken)])
                consume(taken)
                state = taken == remaining ? .chunkDataEnd : .chunkData(remaining: remaining - taken)

            case .chunkDataEnd:
                guard buffer.count - readIndex >= 2 else { return nil }
                guard buffer[readIndex] == ASCII.cr, buffer[readIndex + 1] == ASCII.lf else {
                    throw .invalidChunkedEncoding
                }
                consume(2)
                state = .chunkSize

            case .trailers(let count, let bytes):
                guard
                    let line = try nextLine(limit: limits.maxRequestHeadBytes - bytes, tooLong: .headerSectionTooLarge)
                else { return nil }
                if line.isEmpty { return completeRequest() }
                guard count < limits.maxHeaderCount else { throw .tooManyHeaders }
                // Validated, then dropped: no handler needs trailers. Framing fields there
                // would only confuse a hop that merges trailers into the header section.
                let field = try RequestParser.parseFieldLine(line)
                if asciiCaseInsensitiveEquals(field.name, "Content-Length")
                    || asciiCaseInsensitiveEquals(field.name, "Transfer-Encoding")
                {
                    throw .framingFieldInTrailers
                }
                state = .trailers(count: count + 1, bytes: bytes + line.count + 2)
            }
        }
    }

    // MARK: Lines

    /// The next CRLF-terminated line without its CRLF, or nil when it has not fully arrived.
    ///
    /// The scan is a left-to-right walk over byte positions of the line, so the
    /// error it raises does not depend on how the bytes were split into feeds:
    /// position `limit` reached -> `tooLong`; a rejected byte -> `rejected`; LF
    /// without CR before it -> `.invalidLineTerminator`.
    private mutating func nextLine(
        limit: Int, tooLong: HTTPParserError,
        rejects: ((UInt8) -> Bool)? = nil, rejected: HTTPParserError = .invalidRequestLine
    ) throws(HTTPParserError) -> ArraySlice<UInt8>? {
        var index = max(scanIndex, readIndex)
        while index < buffer.count {
            if index - readIndex >= limit { throw tooLong }
            let byte = buffer[index]
            if byte == ASCII.lf {
                guard index > readIndex, buffer[index - 1] == ASCII.cr else { throw .invalidLineTerminator }
                let line = buffer[readIndex..<(index - 1)]
                readIndex = index + 1
                scanIndex = readIndex
                return line
            }
            if let rejects, rejects(byte) { throw rejected }
            index += 1
        }
        scanIndex = index
        return nil
    }

    private mutating func consume(_ count: Int) {
        readIndex += count
        scanIndex = max(scanIndex, readIndex)
    }

    /// Drops consumed bytes once they are worth the copy.
    private mutating func compact() {
        guard readIndex > 0, readIndex == buffer.count || readIndex >= 4096 else { return }
        buffer.removeSubrange(0..<readIndex)
        scanIndex = max(0, scanIndex - readIndex)
        readIndex = 0
    }

    // MARK: Request line

    /// Control characters and non-ASCII never belong in a request line (CR is
    /// allowed only as part of the CRLF, which the line split checks).
    private static func isForbiddenInRequestLine(_ byte: UInt8) -> Bool {
        (byte < 0x20 && byte != ASCII.cr) || byte >= 0x7F
    }

    /// `method SP target SP version`, single spaces. An empty line is refused too, as h11
    /// does (RFC 9112 §2.2 only says a server SHOULD skip one).
    private mutating func parseRequestLine(_ line: ArraySlice<UInt8>) throws(HTTPParserError) {
        let parts = line.split(separator: ASCII.space, maxSplits: 3, omittingEmptySubsequences: false)
        guard parts.count == 3, parts.allSatisfy({ !$0.isEmpty }) else { throw .invalidRequestLine }
        guard parts[0].allSatisfy(ASCII.isTokenCharacter) else { throw .invalidMethod }
        let method = HTTPMethod(String(decoding: parts[0], as: UTF8.self))
        let version = try RequestParser.parseVersion(parts[2])
        let target = try RequestTarget.parse(Array(parts[1]), method: method)
        self.method = method
        self.version = version
        self.target = target
        self.rawTarget = String(decoding: parts[1], as: UTF8.self)
        currentMethod = method
        currentPath = target.path
    }

    private static func parseVersion(_ bytes: ArraySlice<UInt8>) throws(HTTPParserError) -> HTTPVersion {
        let text = Array(bytes)
        guard text.count == 8, text.starts(with: Array("HTTP/".utf8)),
            ASCII.isDigit(text[5]), text[6] == UInt8(ascii: "."), ASCII.isDigit(text[7])
        else { throw .invalidVersion }
        let major = Int(text[5] - ASCII.zero)
        let minor = Int(text[7] - ASCII.zero)
        guard major == 1 else { throw .unsupportedVersion }
        // RFC 9110 §2.5: a higher minor version is answered as the highest we support.
        return HTTPVersion(major: 1, minor: min(minor, 1))
    }

    // MARK: Header fields

    static func parseFieldLine(_ line: ArraySlice<UInt8>) throws(HTTPParserError) -> (name: String, value: String) {
        guard let first = line.first else { throw .invalidHeaderName }
        if first == ASCII.space || first == ASCII.tab { throw .obsoleteLineFolding }
        guard let colon = line.firstIndex(of: UInt8(ascii: ":")) else { throw .invalidHeaderName }
        let name = line[line.startIndex..<colon]
        guard !name.isEmpty, name.allSatisfy(ASCII.isTokenCharacter) else { throw .invalidHeaderName }
        var value = line[(colon + 1)...]
        while let byte = value.first, byte == ASCII.space || byte == ASCII.tab { value.removeFirst() }
        while let byte = value.last, byte == ASCII.space || byte == ASCII.tab { value.removeLast() }
        // field-vchar / SP / HTAB; obs-text (0x80...) is tolerated, CTLs are not.
        for byte in value where (byte < 0x20 && byte != ASCII.tab) || byte == 0x7F {
            throw .invalidHeaderValue
        }
        return (String(decoding: name, as: UTF8.self), String(decoding: value, as: UTF8.self))
    }

    // MARK: Framing

    /// Decides how the body is framed once the header section is complete.
    private mutating func finishHead() throws(HTTPParserError) -> HTTPRequest? {
        let hostCount = headers.values(for: "Host").count
        if hostCount > 1 { throw .duplicateHost }
        if hostCount == 0 && version.isAtLeastHTTP11 { throw .missingHost }

        let contentLengths = headers.values(for: "Content-Length")
        var framing: (chunked: Bool, length: Int)?
        if headers.contains("Transfer-Encoding") {
            if !contentLengths.isEmpty { throw .contentLengthWithTransferEncoding }
            if !version.isAtLeastHTTP11 { throw .invalidTransferEncoding }
            let values = headers.values(for: "Transfer-Encoding")
            if values.count != 1 || values[0].lowercased() != "chunked" {
                // Exactly one field saying `chunked`, as h11 requires: `chunked,` or a repeated field is refused.
                let codings = headers.tokens(for: "Transfer-Encoding")
                throw codings.last == "chunked" ? .unsupportedTransferEncoding : .invalidTransferEncoding
            }
            framing = (true, 0)
        } else if !contentLengths.isEmpty {
            // Repeats, as fields or as a list (`5, 5`), are refused even when they agree.
            let elements = contentLengths.flatMap { $0.split(separator: ",", omittingEmptySubsequences: false) }
                .map { $0.trimmingHTTPWhitespace() }
            if elements.count > 1 {
                throw Set(elements).count == 1 ? .duplicateContentLength : .conflictingContentLength
            }
            let length = try RequestParser.parseContentLength(contentLengths[0])
            guard length <= limits.maxBodyBytes else { throw .bodyTooLarge }
            framing = (false, length)
        } else if limits.lengthRequiredMethods.contains(method) {
            throw .lengthRequired
        }

        let expectations = headers.tokens(for: "Expect")
        if !expectations.isEmpty {
            guard expectations.allSatisfy({ $0 == "100-continue" }) else { throw .unsupportedExpectation }
        }

        switch framing {
        case nil, (false, 0)?:
            return completeRequest()
        case (true, _)?:
            state = .chunkSize
        case (false, let length)?:
            state = .fixedBody(length: length)
        }
        expectsContinue = !expectations.isEmpty && version.isAtLeastHTTP11
        return nil
    }

    /// 1 to 20 DIGITs (h11's bound, leading zeros included): no sign, no spaces inside,
    /// no list. A number too large for any limit is `.bodyTooLarge`, computed without
    /// ever overflowing.
    static func parseContentLength(_ value: String) throws(HTTPParserError) -> Int {
        let digits = Array(value.utf8)
        guard (1...20).contains(digits.count), digits.allSatisfy(ASCII.isDigit) else { throw .invalidContentLength }
        let significant = digits.drop { $0 == ASCII.zero }
        guard significant.count <= 18 else { throw .bodyTooLarge }
        return significant.reduce(0) { $0 * 10 + Int($1 - ASCII.zero) }
    }

    /// h11's chunk-size line: 1 to 20 HEXDIGs, then either `;` and extensions (ignored,
    /// any bytes but a bare CR, which a hop ending lines at CR would frame differently)
    /// or only spaces and tabs. No whitespace before the `;`.
    private func parseChunkSize(_ line: ArraySlice<UInt8>) throws(HTTPParserError) -> Int {
        let digits = line.prefix { hexValue($0) != nil }
        guard (1...20).contains(digits.count) else { throw .invalidChunkedEncoding }
        let rest = line[digits.endIndex...]
        if rest.first == UInt8(ascii: ";") {
            guard !rest.contains(ASCII.cr) else { throw .invalidChunkedEncoding }
        } else {
            guard rest.allSatisfy({ $0 == ASCII.space || $0 == ASCII.tab }) else { throw .invalidChunkedEncoding }
        }
        let significant = digits.drop { $0 == ASCII.zero }
        guard significant.count <= 15 else { throw .bodyTooLarge }
        return significant.reduce(0) { $0 << 4 | Int(hexValue($1) ?? 0) }
    }

    private mutating func completeRequest() -> HTTPRequest {
        let request = HTTPRequest(
            method: method, target: rawTarget,
            parsedTarget: target ?? RequestTarget(path: "/", segments: [""], query: nil, queryItems: []),
            version: version, headers: headers, body: body)
        state = .requestLine
        headBytes = 0
        headers = HTTPHeaders()
        body = []
        target = nil
        rawTarget = ""
        currentPath = nil
        currentMethod = nil
        expectsContinue = false
        return request
    }
}

enum ASCII {
    static let cr = UInt8(ascii: "\r")
    static let lf = UInt8(ascii: "\n")
    static let space = UInt8(ascii: " ")
    static let tab = UInt8(ascii: "\t")
    static let zero = UInt8(ascii: "0")

    static func isDigit(_ byte: UInt8) -> Bool { byte >= 0x30 && byte <= 0x39 }

    /// tchar (RFC 9110 §5.6.2): the characters of methods and field names.
    static func isTokenCharacter(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), 0x30...0x39: return true
        case UInt8(ascii: "!"), UInt8(ascii: "#"), UInt8(ascii: "$"), UInt8(ascii: "%"), UInt8(ascii: "&"),
            UInt8(ascii: "'"), UInt8(ascii: "*"), UInt8(ascii: "+"), UInt8(ascii: "-"), UInt8(ascii: "."),
            UInt8(ascii: "^"), UInt8(ascii: "_"), UInt8(ascii: "`"), UInt8(ascii: "|"), UInt8(ascii: "~"):
            return true
        default: return false
        }
    }
}
