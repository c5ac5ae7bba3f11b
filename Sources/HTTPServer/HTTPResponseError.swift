/// An error that knows how it should be answered over HTTP.
///
/// Throw one from a handler or middleware and the router turns it into a
/// response through its `HTTPErrorRenderer`, so every error of an API has the
/// same body shape. Any other error becomes a 500 whose message hides the
/// details (they go to the log instead).
///
/// Every requirement but `status` has a default.
public protocol HTTPResponseError: Error {
    /// The status to answer with.
    var status: HTTPStatus { get }
    /// A message safe to show the client.
    var message: String { get }
    /// A category for the error body (`invalid_request_error`, `server_error`...);
    /// defaults by status class.
    var errorType: String { get }
    /// A short machine-readable code (`invalid_api_key`, `model_not_found`...), or nil.
    var errorCode: String? { get }
    /// Extra response headers, such as `Retry-After` or `WWW-Authenticate`.
    var headers: HTTPHeaders { get }
    /// A complete response to send instead of the renderer's, for errors whose
    /// body is not the API's usual error shape. Nil by default.
    var customResponse: HTTPResponse? { get }
}

extension HTTPResponseError {
    public var message: String { status.reasonPhrase }
    public var errorType: String { HTTPErrorReport.defaultType(for: status) }
    public var errorCode: String? { nil }
    public var headers: HTTPHeaders { HTTPHeaders() }
    public var customResponse: HTTPResponse? { nil }
}

/// A ready-made `HTTPResponseError` for handlers:
/// `throw HTTPError(.notFound, "No model named 'x'", code: "model_not_found")`.
public struct HTTPError: HTTPResponseError, CustomStringConvertible {
    public var status: HTTPStatus
    public var message: String
    public var errorType: String
    public var errorCode: String?
    public var headers: HTTPHeaders

    public init(
        _ status: HTTPStatus, _ message: String? = nil, type: String? = nil, code: String? = nil,
        headers: HTTPHeaders = HTTPHeaders()
    ) {
        self.status = status
        self.message = message ?? status.reasonPhrase
        self.errorType = type ?? HTTPErrorReport.defaultType(for: status)
        self.errorCode = code
        self.headers = headers
    }

    /// 429 or 503 with `Retry-After: seconds`, for a full queue or a loading model.
    public static func retryLater(
        _ status: HTTPStatus = .serviceUnavailable, _ message: String,
        afterSeconds seconds: Int, code: String? = nil
    ) -> HTTPError {
        HTTPError(status, message, code: code, headers: ["Retry-After": String(max(0, seconds))])
    }

    public var description: String { "\(status.code) \(message)" }
}
