import HTTPServer

/// A failure while rebuilding a translated story. It is the server's fault,
/// not the client's, so it answers 500 like the old service's catch-all.
public enum LegacyTranslationError: HTTPResponseError, Equatable, CustomStringConvertible {
    /// The translator returned a different number of sentences than were sent.
    case translationCountMismatch(expected: Int, got: Int)

    public var status: HTTPStatus { .internalServerError }

    public var message: String { description }

    public var description: String {
        switch self {
        case .translationCountMismatch(let expected, let got):
            return "translation returned \(got) sentences for \(expected) sent"
        }
    }
}
