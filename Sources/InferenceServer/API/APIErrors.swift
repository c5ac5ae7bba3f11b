import Foundation
import Generation
import HTTPServer

/// Errors of the API layer, and the one place that maps lower layers' errors
/// (executors, generation, translation, jobs) to HTTP statuses.
enum APIErrors {
    /// 400 naming the field: `Invalid 'temperature': must be between 0 and 2.`
    static func invalid(_ field: String, _ reason: String) -> HTTPError {
        HTTPError(.badRequest, "Invalid '\(field)': \(reason)", code: "invalid_value")
    }

    static func unsupported(_ field: String, _ reason: String) -> HTTPError {
        HTTPError(.badRequest, "'\(field)' is not supported: \(reason)", code: "unsupported_parameter")
    }

    static func modelNotFound(_ name: String, available: [String]) -> HTTPError {
        let list = available.isEmpty ? "none is loaded" : "available: \(available.joined(separator: ", "))"
        return HTTPError(.notFound, "The model '\(name)' does not exist (\(list)).", code: "model_not_found")
    }

    static func contextOverflow(promptTokens: Int, maxPositions: Int, model: String) -> HTTPError {
        HTTPError(
            .badRequest,
            "The prompt is \(promptTokens) tokens but model '\(model)' reads at most \(maxPositions) "
                + "positions, one of which must be left for generating. Shorten the prompt.",
            code: "context_length_exceeded")
    }

    /// The HTTP error for anything a handler's lower layers threw.
    static func httpError(for error: Error) -> Error {
        switch error {
        case let error as HTTPResponseError:
            return error
        case let error as ExecutorError:
            switch error {
            case .queueFull(_, _, let retry):
                return HTTPError.retryLater(
                    .tooManyRequests, error.description, afterSeconds: retry, code: "queue_full")
            case .shuttingDown:
                return HTTPError.retryLater(
                    .serviceUnavailable, error.description, afterSeconds: 5, code: "shutting_down")
            case .timedOut:
                return HTTPError(.requestTimeout, error.description, code: "request_timeout")
            case .modelFailure, .backendContract:
                return HTTPError(.internalServerError, error.description, type: "server_error", code: "model_error")
            }
        case let error as GenerationError:
            switch error {
            case .invalidParameter(let name, _, let reason):
                return invalid(name, reason)
            case .contextOverflow:
                return HTTPError(.badRequest, String(describing: error), code: "context_length_exceeded")
            case .emptyPrompt, .tokenOutOfRange:
                return HTTPError(.badRequest, String(describing: error), code: "invalid_value")
            case .malformedGenerationConfig:
                return HTTPError(
                    .internalServerError, String(describing: error), type: "server_error", code: "model_error")
            }
        case let error as TranslationError:
            return HTTPError(.badRequest, error.description, code: "unsupported_language")
        default:
            return HTTPError(
                .internalServerError, "The model failed: \(error)", type: "server_error", code: "model_error")
        }
    }
}

/// The one place that renders each API's error shape, chosen by path:
/// - `/generate_story`: the old story services' `{"error": "..."}` (no Status key);
/// - `/translate`: the old translator's `{"error": "...", "Status": false}`;
/// - everything else: OpenAI's `{"error": {"message", "type", "code"}}`.
enum APIErrorRenderer {
    static let render: HTTPErrorRenderer = { report in
        switch report.path {
        case LegacyRoutes.generateStory?: return storyShape(report)
        case LegacyRoutes.translate?: return HTTPErrorRenderers.legacy(report)
        default: return HTTPErrorRenderers.openAI(report)
        }
    }

    private static func storyShape(_ report: HTTPErrorReport) -> HTTPResponse {
        var headers = report.headers
        headers.set("Content-Type", "application/json")
        let body = #"{"error":\#(JSONText.quoted(report.message))}"#
        return HTTPResponse(status: report.status, headers: headers, body: .bytes(Array(body.utf8)))
    }
}

/// The compatibility routes' paths, which also pick their error shapes.
enum LegacyRoutes {
    static let generateStory = "/generate_story"
    static let translate = "/translate"
    static let all: Set<String> = [generateStory, translate]
}
