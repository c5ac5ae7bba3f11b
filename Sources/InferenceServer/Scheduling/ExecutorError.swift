import Foundation
import HTTPServer

/// Why an executor did not run (or finish) a request. The API layer maps each case
/// to a status (`ExecutorError` never knows about HTTP).
public enum ExecutorError: Error, CustomStringConvertible, Equatable {
    /// The model's queue holds `capacity` waiting requests already: retry after a moment.
    case queueFull(model: String, capacity: Int, retryAfterSeconds: Int)
    /// The server is stopping; the request was not started, or was cut off at the end of the grace period.
    case shuttingDown(model: String)
    /// The request ran past its deadline (queue time included).
    case timedOut(seconds: Double)
    /// The model itself failed (a bug or a broken checkpoint); the batch it was in failed with it.
    case modelFailure(model: String, reason: String)
    /// A translation backend broke its contract (e.g. returned the wrong number of results).
    case backendContract(model: String, reason: String)

    public var description: String {
        switch self {
        case .queueFull(let model, let capacity, let retry):
            return "The queue of model '\(model)' is full (\(capacity) requests waiting). Retry in \(retry) s, or "
                + "start the server with a larger --max-queue."
        case .shuttingDown(let model):
            return "The server is shutting down and model '\(model)' takes no more work. Retry against the "
                + "restarted server."
        case .timedOut(let seconds):
            return "The request did not finish within the server's \(Int(seconds.rounded())) s per-request "
                + "timeout. Ask for fewer tokens, or raise --request-timeout."
        case .modelFailure(let model, let reason):
            return "Model '\(model)' failed: \(reason)"
        case .backendContract(let model, let reason):
            return "Translation model '\(model)' returned an unusable answer: \(reason)"
        }
    }
}
