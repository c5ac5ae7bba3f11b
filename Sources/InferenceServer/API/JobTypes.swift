import Foundation
import HTTPServer
import JobStore

/// `POST /v1/jobs` body: `{"type": "generate"|"translate"|"story", "idempotency_key"?, ...params}`,
/// the params being exactly the body of `/v1/generate`, `/v1/translate` or `/generate_story`.
struct JobSubmissionHeader: Decodable {
    var type: String
    var idempotencyKey: String?
}

/// The job kinds and the route whose body each one takes.
enum JobKind: String, CaseIterable {
    case generate, translate, story
}

/// `202 {"id", "status"}`.
struct JobAccepted: Encodable {
    let id: String
    let status: String
    let type: String
}

/// `GET /v1/jobs/{id}` (and `DELETE`): built as a dictionary because `result` is the
/// job's stored JSON, embedded as is.
enum JobView {
    static func json(_ job: Job) throws -> [UInt8] {
        Array(try JSONSerialization.data(withJSONObject: object(job), options: [.sortedKeys, .withoutEscapingSlashes]))
    }

    /// `GET /v1/jobs`: `{"object": "list", "data": [job, ...]}`, newest first.
    static func listJSON(_ jobs: [Job]) throws -> [UInt8] {
        let list: [String: Any] = ["object": "list", "data": jobs.map(object)]
        return Array(try JSONSerialization.data(withJSONObject: list, options: [.sortedKeys, .withoutEscapingSlashes]))
    }

    static func object(_ job: Job) -> [String: Any] {
        var object: [String: Any] = [
            "id": job.id.rawValue,
            "type": job.type,
            "status": job.status.rawValue,
            "attempts": job.attempts,
            "cancel_requested": job.cancelRequested,
            "created_at": job.createdAt.timeIntervalSince1970,
            "started_at": job.startedAt.map { $0.timeIntervalSince1970 as Any } ?? NSNull(),
            "finished_at": job.finishedAt.map { $0.timeIntervalSince1970 as Any } ?? NSNull(),
            "error": job.errorMessage.map { $0 as Any } ?? NSNull(),
            "result": NSNull(),
        ]
        if let result = job.result,
            let value = try? JSONSerialization.jsonObject(with: result, options: [.fragmentsAllowed])
        {
            object["result"] = value
        }
        if let partial = job.partialText { object["partial_text"] = partial }
        return object
    }

    /// The SSE `data:` of a job event.
    static func eventData(_ event: JobEvent) -> String {
        switch event {
        case .queued: return #"{"status":"queued"}"#
        case .started(let attempt): return #"{"status":"running","attempt":\#(attempt)}"#
        case .token(let text): return #"{"text":\#(JSONText.quoted(text))}"#
        case .paragraph(let json): return String(decoding: json, as: UTF8.self)
        case .done(let result):
            let embedded =
                (try? JSONSerialization.jsonObject(with: result, options: [.fragmentsAllowed])) != nil
                ? String(decoding: result, as: UTF8.self) : "null"
            return #"{"status":"succeeded","result":\#(embedded)}"#
        case .failed(let message): return #"{"status":"failed","error":\#(JSONText.quoted(message))}"#
        case .cancelled: return #"{"status":"cancelled"}"#
        }
    }
}
