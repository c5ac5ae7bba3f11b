import Foundation
import HTTPServer
import JobStore

/// `POST /v1/jobs`, `GET /v1/jobs` (recent jobs), `GET /v1/jobs/{id}`, `GET /v1/jobs/{id}/events`, `DELETE /v1/jobs/{id}`.
struct JobHandlers {
    let environment: ServingEnvironment

    func register(on router: Router) {
        router.post("/v1/jobs") { request, context in try postJob(request, context) }
        router.get("/v1/jobs") { request, _ in try listJobs(request) }
        router.get("/v1/jobs/{id}") { request, _ in
            let (store, id) = try lookup(request)
            guard let job = try mapStoreErrors({ try store.get(id) }) else { throw Self.notFound(id.rawValue) }
            return .json(bytes: try JobView.json(job))
        }
        router.delete("/v1/jobs/{id}") { request, _ in
            let (store, id) = try lookup(request)
            let job = try mapStoreErrors { try store.cancel(id) }
            return .json(bytes: try JobView.json(job))
        }
        router.get("/v1/jobs/{id}/events") { request, context in try getJobEvents(request, context) }
    }

    /// The most recent jobs, newest first: `?status=queued|running|succeeded|failed|cancelled`,
    /// `?limit=N` (1 to 100, default 20).
    func listJobs(_ request: HTTPRequest) throws -> HTTPResponse {
        let store = try requireStore()
        var status: JobStatus?
        if let text = request.queryValue("status") {
            guard let parsed = JobStatus(rawValue: text) else {
                throw APIErrors.invalid(
                    "status", "must be one of \(JobStatus.allCases.map(\.rawValue).joined(separator: ", ")).")
            }
            status = parsed
        }
        var limit = 20
        if let text = request.queryValue("limit") {
            guard let value = Int(text), (1...100).contains(value) else {
                throw APIErrors.invalid("limit", "must be an integer from 1 to 100, got '\(text)'.")
            }
            limit = value
        }
        let jobs = try mapStoreErrors { try store.list(status: status, limit: limit, newestFirst: true) }
        return .json(bytes: try JobView.listJSON(jobs))
    }

    func postJob(_ request: HTTPRequest, _ context: RequestContext) throws -> HTTPResponse {
        let store = try requireStore()
        try environment.requireReady()
        let header = try APIJSON.decode(JobSubmissionHeader.self, from: request)
        guard let kind = JobKind(rawValue: header.type) else {
            throw APIErrors.invalid(
                "type", "must be one of \(JobKind.allCases.map(\.rawValue).joined(separator: ", ")).")
        }
        let headerKey = request.headers["Idempotency-Key"]
        if let headerKey, let bodyKey = header.idempotencyKey, headerKey != bodyKey {
            throw APIErrors.invalid("idempotency_key", "differs from the Idempotency-Key header.")
        }
        // Validate now, exactly as the worker will, so a bad job is a 400 instead of a failed job.
        let plan = try JobPlan.make(kind, body: request.body, environment: environment, listener: context.listenerName)
        let params = try Self.params(request.body, model: plan.modelName)
        RequestLogRecord.current?.model = plan.modelName
        let submission = try mapStoreErrors {
            try store.submit(type: kind.rawValue, params: params, idempotencyKey: headerKey ?? header.idempotencyKey)
        }
        let job = submission.job
        var response = HTTPResponse.json(
            bytes: try APIJSON.encode(JobAccepted(id: job.id.rawValue, status: job.status.rawValue, type: job.type)),
            status: .accepted)
        response.headers.set("Location", "/v1/jobs/\(job.id.rawValue)")
        if !submission.created { response.headers.set("Idempotent-Replayed", "true") }
        return response
    }

    func getJobEvents(_ request: HTTPRequest, _ context: RequestContext) throws -> HTTPResponse {
        let (store, id) = try lookup(request)
        let subscription = try mapStoreErrors { try store.subscribe(id) }
        context.disconnect.onDisconnect { subscription.cancel() }
        let keepAlive = environment.configuration.jobEventsKeepAlive
        return .eventStream { events in
            defer { subscription.cancel() }
            while true {
                switch subscription.next(timeout: keepAlive) {
                case .event(let event):
                    guard events.send(data: JobView.eventData(event), event: event.name) else { return }
                    if event.isFinal { return }
                case .timedOut:
                    guard events.comment("keep-alive") else { return }
                case .ended:
                    return
                }
            }
        }
    }

    /// The stored params: the body as given, plus the model it resolved to when it named
    /// none (so a job submitted on a model's own port runs on that model after a restart).
    static func params(_ body: [UInt8], model: String) throws -> Data {
        guard var object = (try? JSONSerialization.jsonObject(with: Data(body))) as? [String: Any] else {
            throw HTTPError(.badRequest, "The request body must be a JSON object.", code: "invalid_json")
        }
        if object["model"] == nil || object["model"] is NSNull { object["model"] = model }
        return try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
    }

    private func requireStore() throws -> any JobStorage {
        guard let store = environment.jobStore else {
            throw HTTPError(
                .notFound, "Durable jobs are off: start the server with --jobs-db PATH or --jobs-redis URL.",
                code: "jobs_disabled")
        }
        return store
    }

    private func lookup(_ request: HTTPRequest) throws -> (any JobStorage, JobID) {
        let store = try requireStore()
        let raw = request.parameter("id") ?? ""
        guard let id = JobID(rawValue: raw) else { throw Self.notFound(raw) }
        return (store, id)
    }

    static func notFound(_ id: String) -> HTTPError {
        HTTPError(.notFound, "No job with id '\(id)': it never existed or its result expired.", code: "job_not_found")
    }

    private func mapStoreErrors<T>(_ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch let error as JobStoreError {
            switch error {
            case .jobNotFound(let id): throw Self.notFound(id.rawValue)
            case .idempotencyConflict: throw HTTPError(.conflict, error.description, code: "idempotency_conflict")
            case .invalidArgument: throw HTTPError(.badRequest, error.description, code: "invalid_value")
            case .closed:
                throw HTTPError.retryLater(
                    .serviceUnavailable, error.description, afterSeconds: 5, code: "shutting_down")
            case .diskFull:
                throw HTTPError.retryLater(
                    .serviceUnavailable, error.description, afterSeconds: 30, code: "job_store_full")
            case .busy:
                throw HTTPError.retryLater(
                    .serviceUnavailable, error.description, afterSeconds: 5, code: "job_store_busy")
            case .fileReplaced:
                throw HTTPError(
                    .serviceUnavailable, error.description, type: "server_error", code: "job_store_replaced")
            case .unavailable:
                throw HTTPError.retryLater(
                    .serviceUnavailable, error.description, afterSeconds: 2, code: "job_store_unavailable")
            default:
                throw HTTPError(.internalServerError, error.description, type: "server_error", code: "job_store_error")
            }
        }
    }
}
