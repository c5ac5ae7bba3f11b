/// Everything a renderer needs to build an error response, whatever produced
/// the error: the parser (bad request line, oversized headers...), a timeout,
/// the router (404, 405) or a handler.
public struct HTTPErrorReport: Sendable {
    public var status: HTTPStatus
    public var message: String
    public var type: String
    public var code: String?
    /// Headers the response must carry (`Allow`, `Retry-After`, `WWW-Authenticate`...).
    public var headers: HTTPHeaders
    /// The decoded path of the request when it got that far (parser errors after
    /// the request line, router and handler errors), so a renderer can choose the
    /// body shape by API (`/v1/...` vs the legacy routes). Nil otherwise.
    public var path: String?
    public var method: HTTPMethod?

    public init(
        status: HTTPStatus, message: String, type: String? = nil, code: String? = nil,
        headers: HTTPHeaders = HTTPHeaders(), path: String? = nil, method: HTTPMethod? = nil
    ) {
        self.status = status
        self.message = message
        self.type = type ?? HTTPErrorReport.defaultType(for: status)
        self.code = code
        self.headers = headers
        self.path = path
        self.method = method
    }

    /// The report for any error: an `HTTPResponseError` keeps its fields; anything
    /// else is an internal error whose details are not shown to the client.
    public init(error: Error, path: String? = nil, method: HTTPMethod? = nil) {
        if let error = error as? HTTPResponseError {
            self.init(
                status: error.status, message: error.message, type: error.errorType, code: error.errorCode,
                headers: error.headers, path: path, method: method)
        } else {
            self.init(
                status: .internalServerError, message: "The server had an internal error.",
                type: "server_error", code: "internal_error", path: path, method: method)
        }
    }

    /// `invalid_request_error` for 4xx, `server_error` otherwise (OpenAI's vocabulary).
    public static func defaultType(for status: HTTPStatus) -> String {
        (400..<500).contains(status.code) ? "invalid_request_error" : "server_error"
    }
}

/// Builds the response for an error; the body shape is the API's choice.
public typealias HTTPErrorRenderer = @Sendable (HTTPErrorReport) -> HTTPResponse

/// Error body shapes in use in the product.
public enum HTTPErrorRenderers {
    /// OpenAI style, the default:
    /// `{"error":{"message":"...","type":"invalid_request_error","code":"..."}}` (code may be null).
    public static let openAI: HTTPErrorRenderer = { report in
        let code = report.code.map(JSONText.quoted) ?? "null"
        let body =
            #"{"error":{"message":\#(JSONText.quoted(report.message)),"type":\#(JSONText.quoted(report.type)),"code":\#(code)}}"#
        return errorResponse(report, body: body)
    }

    /// The legacy Flask services' shape: `{"error":"...","Status":false}`.
    public static let legacy: HTTPErrorRenderer = { report in
        errorResponse(report, body: #"{"error":\#(JSONText.quoted(report.message)),"Status":false}"#)
    }

    private static func errorResponse(_ report: HTTPErrorReport, body: String) -> HTTPResponse {
        var headers = report.headers
        headers.set("Content-Type", "application/json")
        return HTTPResponse(status: report.status, headers: headers, body: .bytes(Array(body.utf8)))
    }
}

/// Minimal JSON string quoting, so error bodies never depend on an encoder that can throw.
/// A string as a JSON string literal (quotes and escapes), for bodies written by hand.
public enum JSONText {
    public static func quoted(_ text: String) -> String {
        var out = "\""
        out.reserveCapacity(text.utf8.count + 2)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case let s where s.value < 0x20 || s.value == 0x7F:
                let hex = String(s.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }
}
