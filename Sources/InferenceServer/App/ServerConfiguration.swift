import Foundation
import HTTPServer
import JobStore

/// Everything `ServerApp` needs to know besides its models.
public struct ServerConfiguration: Sendable {
    /// Address of every listener. 127.0.0.1 unless told otherwise.
    public var host = "127.0.0.1"
    /// The main port: every route, every model (0 picks a free port).
    public var port = 8080
    /// Extra ports whose default model (legacy routes, requests without `model`) is the named one.
    public var extraListeners: [(port: Int, model: String)] = []
    /// Accepted `Authorization: Bearer` keys; empty disables authentication.
    /// `ServerApp.apiKeys` replaces them while serving.
    public var apiKeys: [String] = []
    /// Browser origins (`https://app.example.com`, or `*`) that get CORS headers and may use the
    /// loopback exemption of the compatibility routes. Empty: CORS is off, preflights are refused.
    public var corsOrigins: [String] = []
    /// Names besides localhost, this machine's name, the bound host and IP literals under which
    /// clients reach the server (behind a proxy). With API keys set, any other `Host` is refused.
    public var allowedHosts: [String] = []
    /// Leave `/generate_story` and `/translate` open without a key to loopback clients
    /// (the old frontend never sent one).
    public var legacyRoutesOpenOnLoopback = true
    /// Sequences per generation step.
    public var maxBatch = 8
    public var maxQueue = 64
    /// Sentences per translation decoder step (a sentence's beams are rows of the same step).
    public var translationMaxBatch = 8
    /// Seconds a generation or translation may take, queue time included.
    public var requestTimeout: TimeInterval = 600
    /// Durable jobs' SQLite file; nil turns `/v1/jobs` off.
    public var jobsDatabasePath: String?
    /// Durable jobs in Redis (`redis://HOST:PORT/DB`), shared with other servers; instead of
    /// `jobsDatabasePath`.
    public var jobsRedisURL: String?
    /// With Redis: seconds without renewal after which another server takes a running job over.
    public var jobLease: TimeInterval = 30
    /// Finished jobs are deleted this long after finishing; nil keeps them.
    public var jobResultTTL: TimeInterval? = 24 * 3600
    /// Seconds between keep-alive comments on a silent job event stream.
    public var jobEventsKeepAlive: TimeInterval = 15
    /// How long shutdown lets in-flight work finish.
    public var shutdownGracePeriod: TimeInterval = 10
    /// Most `stop` strings per request, and longest one in UTF-8 bytes.
    public var maxStopStrings = 16
    public var maxStopStringBytes = 256
    /// Most sequences one completion request may ask for (prompts × n).
    public var maxChoicesPerRequest = 16
    /// Most texts per `/v1/translate` request.
    public var maxTranslationTexts = 64
    /// Chat template files by model name (`serve --chat-template NAME=FILE`).
    public var chatTemplateFiles: [String: String] = [:]
    /// HTTP limits and timeouts.
    public var http = HTTPServerConfiguration()
    /// One line per answered request (`serve --log-format`), written to `requestLog`
    /// (nil: standard error).
    public var requestLogFormat = RequestLogFormat.text
    public var requestLog: (@Sendable (String) -> Void)?
    /// Where the app reports events (startup problems, job runner messages). Nil: standard error.
    public var log: (@Sendable (String) -> Void)?

    public init() {}
}

/// Why the app could not start or add a model.
public enum ServerAppError: Error, CustomStringConvertible, Equatable {
    case duplicateModel(String)
    case unknownListenerModel(port: Int, model: String)
    case alreadyStarted

    public var description: String {
        switch self {
        case .duplicateModel(let name):
            return "Two models are named '\(name)': give each --model a distinct NAME."
        case .unknownListenerModel(let port, let model):
            return "--listen \(port)=\(model) names no model: add --model \(model)=DIR or fix the name."
        case .alreadyStarted:
            return "The server was already started."
        }
    }
}
