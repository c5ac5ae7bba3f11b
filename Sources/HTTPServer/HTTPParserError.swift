/// Why a request could not be parsed. Each case knows its status; the connection
/// answers with it and then closes, since after a framing error the position of
/// the next request in the byte stream cannot be trusted.
public enum HTTPParserError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The request line is longer than `maxRequestLineBytes` (414).
    case requestLineTooLong
    /// The request line plus header fields exceed `maxRequestHeadBytes`, or the
    /// chunked trailer section is too large (431).
    case headerSectionTooLarge
    /// More header fields than `maxHeaderCount` (431).
    case tooManyHeaders
    /// Not `method SP target SP version`, or an empty line where a request line belongs (400).
    case invalidRequestLine
    /// The method is not a token (400).
    case invalidMethod
    /// The target is not origin-, absolute- or asterisk-form, has bytes outside
    /// visible ASCII, a fragment, bad percent-escapes, or decodes to invalid UTF-8 or NUL (400).
    case invalidTarget
    /// The version is not `HTTP/d.d` (400).
    case invalidVersion
    /// A well-formed version other than HTTP/1.x (505).
    case unsupportedVersion
    /// A line ended in LF without CR (400). Strict CRLF avoids the framing
    /// disagreements with proxies that request smuggling relies on.
    case invalidLineTerminator
    /// A field name that is not a token, or whitespace before the colon (400).
    case invalidHeaderName
    /// A field value with CR, LF, NUL or another control character (400). h11
    /// accepts most control characters; we refuse them all, as RFC 9110 §5.5 allows.
    case invalidHeaderValue
    /// A field line starting with whitespace (obsolete line folding, 400).
    case obsoleteLineFolding
    /// HTTP/1.1 request without `Host` (400, RFC 9112 §3.2).
    case missingHost
    /// More than one `Host` field (400).
    case duplicateHost
    /// `Content-Length` that is not a plain decimal number (400).
    case invalidContentLength
    /// Several `Content-Length` fields, or a list, with the same value (400; h11 merges them).
    case duplicateContentLength
    /// Several `Content-Length` fields, or a list, with different values (400).
    case conflictingContentLength
    /// Both `Content-Length` and `Transfer-Encoding` (400, a smuggling vector).
    case contentLengthWithTransferEncoding
    /// `Transfer-Encoding` whose final coding is not chunked, or in an HTTP/1.0 request (400).
    case invalidTransferEncoding
    /// A transfer coding other than plain `chunked` (501).
    case unsupportedTransferEncoding
    /// Malformed chunk size line or missing CRLF after chunk data (400).
    case invalidChunkedEncoding
    /// `Content-Length` or `Transfer-Encoding` in a chunked trailer section (400).
    case framingFieldInTrailers
    /// POST/PUT/PATCH without `Content-Length` or `Transfer-Encoding` (411).
    case lengthRequired
    /// The body is larger than `maxBodyBytes` (413); also for a `Content-Length`
    /// too large to represent.
    case bodyTooLarge
    /// An `Expect` value other than `100-continue` (417).
    case unsupportedExpectation
    /// The connection ended in the middle of a request (400).
    case truncatedRequest

    public var status: HTTPStatus {
        switch self {
        case .requestLineTooLong: return .uriTooLong
        case .headerSectionTooLarge, .tooManyHeaders: return .requestHeaderFieldsTooLarge
        case .unsupportedVersion: return .httpVersionNotSupported
        case .unsupportedTransferEncoding: return .notImplemented
        case .lengthRequired: return .lengthRequired
        case .bodyTooLarge: return .payloadTooLarge
        case .unsupportedExpectation: return .expectationFailed
        case .invalidRequestLine, .invalidMethod, .invalidTarget, .invalidVersion, .invalidLineTerminator,
            .invalidHeaderName, .invalidHeaderValue, .obsoleteLineFolding, .missingHost, .duplicateHost,
            .invalidContentLength, .duplicateContentLength, .conflictingContentLength,
            .contentLengthWithTransferEncoding, .invalidTransferEncoding, .invalidChunkedEncoding,
            .framingFieldInTrailers, .truncatedRequest:
            return .badRequest
        }
    }

    /// A snake_case code for error bodies.
    public var code: String {
        switch self {
        case .requestLineTooLong: return "request_line_too_long"
        case .headerSectionTooLarge: return "header_section_too_large"
        case .tooManyHeaders: return "too_many_headers"
        case .invalidRequestLine: return "invalid_request_line"
        case .invalidMethod: return "invalid_method"
        case .invalidTarget: return "invalid_target"
        case .invalidVersion: return "invalid_version"
        case .unsupportedVersion: return "unsupported_http_version"
        case .invalidLineTerminator: return "invalid_line_terminator"
        case .invalidHeaderName: return "invalid_header_name"
        case .invalidHeaderValue: return "invalid_header_value"
        case .obsoleteLineFolding: return "obsolete_line_folding"
        case .missingHost: return "missing_host"
        case .duplicateHost: return "duplicate_host"
        case .invalidContentLength: return "invalid_content_length"
        case .duplicateContentLength: return "duplicate_content_length"
        case .conflictingContentLength: return "conflicting_content_length"
        case .contentLengthWithTransferEncoding: return "content_length_with_transfer_encoding"
        case .invalidTransferEncoding: return "invalid_transfer_encoding"
        case .unsupportedTransferEncoding: return "unsupported_transfer_encoding"
        case .invalidChunkedEncoding: return "invalid_chunked_encoding"
        case .framingFieldInTrailers: return "framing_field_in_trailers"
        case .lengthRequired: return "length_required"
        case .bodyTooLarge: return "body_too_large"
        case .unsupportedExpectation: return "unsupported_expectation"
        case .truncatedRequest: return "truncated_request"
        }
    }

    public var description: String {
        switch self {
        case .requestLineTooLong: return "The request line is too long."
        case .headerSectionTooLarge: return "The request header section is too large."
        case .tooManyHeaders: return "The request has too many header fields."
        case .invalidRequestLine:
            return "The request line is malformed: expected 'METHOD target HTTP/1.1', with no empty line before it."
        case .invalidMethod: return "The request method is not a valid token."
        case .invalidTarget:
            return "The request target is not served here: send a path (/path?query), an http(s) URL, or * with "
                + "OPTIONS, with valid percent-escapes and no fragment."
        case .invalidVersion: return "The HTTP version is malformed."
        case .unsupportedVersion: return "Only HTTP/1.0 and HTTP/1.1 are supported."
        case .invalidLineTerminator: return "Lines must end with CRLF; a bare LF is refused here."
        case .invalidHeaderName: return "A header field name is invalid."
        case .invalidHeaderValue:
            return "A header field value contains a control character; this server refuses them (RFC 9110 §5.5)."
        case .obsoleteLineFolding:
            return "Obsolete header line folding is refused here; send each field on one "
                + "line."
        case .missingHost: return "HTTP/1.1 requests (and later 1.x, answered as 1.1) must have a Host header."
        case .duplicateHost: return "The request has more than one Host header."
        case .invalidContentLength: return "Content-Length must be a non-negative decimal number."
        case .duplicateContentLength:
            return "The request repeats Content-Length (as fields or a list); this server accepts exactly one "
                + "value."
        case .conflictingContentLength: return "The request has conflicting Content-Length headers."
        case .contentLengthWithTransferEncoding:
            return "Content-Length and Transfer-Encoding must not both be sent; this server refuses the pair."
        case .invalidTransferEncoding:
            return "The Transfer-Encoding is invalid: it must be 'chunked', and is refused in HTTP/1.0 requests."
        case .unsupportedTransferEncoding: return "Only the chunked transfer coding is supported."
        case .invalidChunkedEncoding:
            return "The chunked request body is malformed: a chunk size is 1-20 hex digits, its extensions hold "
                + "no CR, and each chunk ends with CRLF."
        case .framingFieldInTrailers:
            return "Content-Length and Transfer-Encoding are not accepted in chunked trailers."
        case .lengthRequired: return "This request needs a Content-Length header."
        case .bodyTooLarge: return "The request body is too large."
        case .unsupportedExpectation: return "Only 'Expect: 100-continue' is supported."
        case .truncatedRequest: return "The connection ended before the request was complete."
        }
    }
}

extension HTTPParserError: HTTPResponseError {
    public var message: String { description }
    public var errorCode: String? { code }
}
