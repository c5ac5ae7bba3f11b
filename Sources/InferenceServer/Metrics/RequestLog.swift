import Foundation
import HTTPServer
import Synchronization

/// How each answered request is logged (`serve --log-format`).
public enum RequestLogFormat: String, Sendable, CaseIterable {
    /// `2026-12-06T20:50:01.123Z 3f9c… POST /v1/completions model=tiny status=200 prompt_tokens=5 ...`
    case text
    /// One JSON object per line, keys sorted, for log collectors.
    case json
    /// No request lines.
    case off
}

/// What a handler adds to its request's log line: the model and the token counts. The
/// middleware makes one per request and makes it `current` on the connection's thread
/// while the handler runs and while a streamed body is written.
public final class RequestLogRecord: Sendable {
    public let requestID: String
    private let state = Mutex<(model: String?, prompt: Int, generated: Int)>((nil, 0, 0))

    init(requestID: String) {
        self.requestID = requestID
    }

    private static let key = "octavo.requestLogRecord"

    /// The record of the request being answered on this thread, if any.
    static var current: RequestLogRecord? {
        get { Thread.current.threadDictionary[key] as? RequestLogRecord }
        set { Thread.current.threadDictionary[key] = newValue }
    }

    var model: String? {
        get { state.withLock { $0.model } }
        set { state.withLock { $0.model = newValue } }
    }

    /// Adds a request's tokens (a job or a story may add several times).
    func tokens(prompt: Int, generated: Int) {
        state.withLock {
            $0.prompt += prompt
            $0.generated += generated
        }
    }

    var counts: (model: String?, prompt: Int, generated: Int) {
        state.withLock { $0 }
    }
}

/// Writes one line per request (after a streamed body has ended) and echoes the
/// client's `X-Request-Id`, or makes one, on every reply.
struct RequestLogMiddleware: HTTPMiddleware {
    let format: RequestLogFormat
    let write: @Sendable (String) -> Void

    func respond(to request: HTTPRequest, context: RequestContext, next: HTTPNext) throws -> HTTPResponse {
        let start = Date()
        let record = RequestLogRecord(requestID: Self.requestID(request.headers["X-Request-Id"]))
        RequestLogRecord.current = record
        defer { RequestLogRecord.current = nil }
        var response = try next(request, context)
        response.headers.set("X-Request-Id", record.requestID)
        let status = response.status.code
        guard case .stream(let produce) = response.body else {
            log(request, record, status: status, start: start)
            return response
        }
        response.body = .stream { writer in
            RequestLogRecord.current = record
            defer {
                RequestLogRecord.current = nil
                log(request, record, status: status, start: start)
            }
            try produce(writer)
        }
        return response
    }

    /// `response` with a new `X-Request-Id` unless it has one: replies to requests that never
    /// reached the router (malformed, too large, timed out) get an id too. Routed replies get
    /// theirs, the client's when it sent one, from `respond`.
    static func withRequestID(_ response: HTTPResponse) -> HTTPResponse {
        guard response.headers["X-Request-Id"] == nil else { return response }
        var response = response
        response.headers.set("X-Request-Id", RandomID.make(length: 20))
        return response
    }

    /// The client's id when it is short printable ASCII (it is echoed into headers and logs),
    /// else a new random one.
    static func requestID(_ sent: String?) -> String {
        if let sent, !sent.isEmpty, sent.utf8.count <= 128,
            sent.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F && $0 != UInt8(ascii: "\"") && $0 != UInt8(ascii: "\\") })
        {
            return sent
        }
        return RandomID.make(length: 20)
    }

    private func log(_ request: HTTPRequest, _ record: RequestLogRecord, status: Int, start: Date) {
        guard format != .off else { return }
        let (model, prompt, generated) = record.counts
        let milliseconds = (Date().timeIntervalSince(start) * 10_000).rounded() / 10
        write(
            Self.line(
                format: format, time: start, id: record.requestID, method: request.method.rawValue,
                path: request.path, model: model, status: status, promptTokens: prompt,
                generatedTokens: generated, milliseconds: milliseconds))
    }

    static func line(
        format: RequestLogFormat, time: Date, id: String, method: String, path: String, model: String?,
        status: Int, promptTokens: Int, generatedTokens: Int, milliseconds: Double
    ) -> String {
        let stamp = timestamp(time)
        switch format {
        case .json:
            let object: [String: Any] = [
                "time": stamp, "request_id": id, "method": method, "path": path, "model": model ?? NSNull(),
                "status": status, "prompt_tokens": promptTokens, "generated_tokens": generatedTokens,
                "duration_ms": milliseconds,
            ]
            let options: JSONSerialization.WritingOptions = [.sortedKeys, .withoutEscapingSlashes]
            let data = (try? JSONSerialization.data(withJSONObject: object, options: options)) ?? Data()
            return String(decoding: data, as: UTF8.self)
        case .text, .off:
            // The path is quoted only when it holds spaces, so every line splits on spaces.
            let shownPath = path.contains(" ") ? "\"\(path)\"" : path
            return "\(stamp) \(id) \(method) \(shownPath) model=\(model ?? "-") status=\(status) "
                + "prompt_tokens=\(promptTokens) generated_tokens=\(generatedTokens) duration_ms=\(milliseconds)"
        }
    }

    /// ISO 8601 in UTC with milliseconds.
    static func timestamp(_ date: Date) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.string(from: date)
    }
}
