import Foundation

/// A job's params turned into executor work, with the same decoding and validation as the
/// route whose body they are — at submission (so a bad job is a 400 right away) and again
/// when a worker runs it.
enum JobPlan {
    case generate(GenerationService, GenerationRequest)
    /// `/generate_story`'s body (`Prompt`, `Audience`): the old services' reply.
    case story(GenerationService, GenerationRequest)
    /// `/v1/stories`' body (`prompt` or the structured fields, `language`...): paragraph events.
    case storyInLanguage(StoryPlan)
    case translate(TranslationService, TranslationRequest)

    static func make(_ kind: JobKind, body: [UInt8], environment: ServingEnvironment, listener: String?,
                     checkReady: Bool = true) throws -> JobPlan {
        switch kind {
        case .generate:
            let request = try APIJSON.decode(GenerateRequestBody.self, from: Data(body))
            let (service, generation) = try NativeGeneration(environment: environment)
                .prepare(request, listener: listener, checkReady: checkReady)
            return .generate(service, generation)
        case .story where isStoryInLanguage(body):
            let request = try APIJSON.decode(StoryRequestBody.self, from: Data(body))
            if request.stream == true { throw APIErrors.invalid("stream", "a job streams on /v1/jobs/{id}/events; leave stream out.") }
            return .storyInLanguage(try StoryPlan.make(request, environment: environment, listener: listener, checkReady: checkReady))
        case .story:
            let story = try LegacyStoryRequest.parse(body)
            let service = try environment.generationService(named: story.model, listener: listener, checkReady: checkReady)
            return .story(service, try StoryGeneration.request(for: story, service: service,
                                                               timeout: environment.configuration.requestTimeout))
        case .translate:
            let request = try APIJSON.decode(TranslateRequestBody.self, from: Data(body))
            let (service, translation) = try NativeTranslation(environment: environment)
                .prepare(request, listener: listener, checkReady: checkReady)
            return .translate(service, translation)
        }
    }

    /// A story job's body is `/v1/stories`' (lower-case `prompt`, `genre`, `language`...) unless it
    /// has `/generate_story`'s `Prompt`.
    private static func isStoryInLanguage(_ body: [UInt8]) -> Bool {
        guard let object = (try? JSONSerialization.jsonObject(with: Data(body))) as? [String: Any], object["Prompt"] == nil else {
            return false
        }
        return ["prompt", "genre", "protagonists", "language", "audience"].contains { object[$0] != nil }
    }

    var modelName: String {
        switch self {
        case .generate(let service, _), .story(let service, _): return service.name
        case .storyInLanguage(let plan): return plan.service.name
        case .translate(let service, _): return service.name
        }
    }
}

/// Runs jobs for the `JobRunner`: a job is one more client of the model's executor, its
/// tokens go to the job's progress (SSE subscribers), its result is the JSON the
/// equivalent route answers.
struct JobWorker {
    let environment: ServingEnvironment

    func run(_ job: Job, progress: ProgressReporter, cancellation: CancellationFlag) throws -> Data {
        guard let kind = JobKind(rawValue: job.type) else { throw APIErrors.invalid("type", "unknown job type '\(job.type)'.") }
        let plan = try JobPlan.make(kind, body: Array(job.params), environment: environment, listener: nil, checkReady: false)
        switch plan {
        case .generate(let service, let request):
            let outcome = try generate(request, on: service, progress: progress, cancellation: cancellation)
            return Data(try APIJSON.encode(NativeGeneration.response(outcome, model: service.name)))
        case .story(let service, let request):
            let outcome = try generate(request, on: service, progress: progress, cancellation: cancellation)
            return Data(try APIJSON.encode(LegacyStoryResponse(Content: StoryGeneration.content(outcome, service: service))))
        case .storyInLanguage(let plan):
            let run = try retryWhileQueueFull(cancellation) {
                try StoryRun(plan: plan, timeout: environment.configuration.requestTimeout, cancelOn: nil)
            }
            let started = DispatchTime.now().uptimeNanoseconds
            let outcome = try run.run(started: started, isCancelled: { cancellation.isCancelled }) { paragraph in
                progress.paragraph(Data(APIJSON.encodeString(StoryParagraphJSON(paragraph)).utf8))
                return true
            }.get()
            return Data(try APIJSON.encode(StoryResponse(outcome, plan: plan)))
        case .translate(let service, let request):
            let result = try translate(request, on: service, cancellation: cancellation)
            return Data(try APIJSON.encode(NativeTranslation.response(result, request, model: service.name)))
        }
    }

    private func generate(_ request: GenerationRequest, on service: GenerationService, progress: ProgressReporter,
                          cancellation: CancellationFlag) throws -> GenerationOutcome {
        let call = try retryWhileQueueFull(cancellation) { try GenerationCall(service: service, requests: [request]) }
        let results = call.run(isCancelled: { cancellation.isCancelled }) { event in
            if case .token(_, let step) = event, !step.text.isEmpty { progress.token(step.text) }
            return true
        }
        let outcome = try results[0].get()
        if outcome.finishReason == .cancelled { throw CancellationError() }
        return outcome
    }

    private func translate(_ request: TranslationRequest, on service: TranslationService,
                           cancellation: CancellationFlag) throws -> TranslationResult {
        let ticket = try retryWhileQueueFull(cancellation) { try service.executor.submit(request) }
        let deadline = Date(timeIntervalSinceNow: environment.configuration.requestTimeout)
        while Date() < deadline {
            if cancellation.isCancelled {
                ticket.cancel()
                throw CancellationError()
            }
            if let outcome = ticket.wait(timeout: 0.25) { return try outcome.get() }
        }
        ticket.cancel()
        throw ExecutorError.timedOut(seconds: environment.configuration.requestTimeout)
    }

    /// A full queue is back-pressure, not a reason to fail an accepted job: wait and retry.
    private func retryWhileQueueFull<T>(_ cancellation: CancellationFlag, _ submit: () throws -> T) throws -> T {
        while true {
            do {
                return try submit()
            } catch ExecutorError.queueFull {
                try cancellation.check()
                Thread.sleep(forTimeInterval: 0.2)
            }
        }
    }
}
