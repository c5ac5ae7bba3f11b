import Foundation
import HTTPServer
import JobStore

/// Runs jobs for the `JobRunner`: a job is one more client of the model's executor, its
/// tokens go to the job's progress (SSE subscribers), its result is the JSON the
/// equivalent route answers.
struct JobWorker {
    let environment: ServingEnvironment

    func run(_ job: Job, progress: ProgressReporter, cancellation: CancellationFlag) throws -> Data {
        guard let kind = JobKind(rawValue: job.type) else {
            throw APIErrors.invalid("type", "unknown job type '\(job.type)'.")
        }
        let plan = try JobPlan.make(
            kind, body: Array(job.params), environment: environment, listener: nil, checkReady: false)
        switch plan {
        case .generate(let service, let request):
            let outcome = try generate(request, on: service, progress: progress, cancellation: cancellation)
            return Data(try APIJSON.encode(NativeGeneration.response(outcome, model: service.name)))
        case .story(let service, let request):
            let outcome = try generate(request, on: service, progress: progress, cancellation: cancellation)
            return Data(
                try APIJSON.encode(LegacyStoryResponse(Content: StoryGeneration.content(outcome, service: service))))
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

    private func generate(
        _ request: GenerationRequest, on service: GenerationService, progress: ProgressReporter,
        cancellation: CancellationFlag
    ) throws -> GenerationOutcome {
        let call = try retryWhileQueueFull(cancellation) { try GenerationCall(service: service, requests: [request]) }
        let results = call.run(isCancelled: { cancellation.isCancelled }) { event in
            if case .token(_, let step) = event, !step.text.isEmpty { progress.token(step.text) }
            return true
        }
        let outcome = try results[0].get()
        if outcome.finishReason == .cancelled { throw CancellationError() }
        return outcome
    }

    private func translate(
        _ request: TranslationRequest, on service: TranslationService,
        cancellation: CancellationFlag
    ) throws -> TranslationResult {
        let timeout = environment.configuration.requestTimeout
        let call = try retryWhileQueueFull(cancellation) { try TranslationCall(request, on: service, timeout: timeout) }
        let deadline = Date(timeIntervalSinceNow: timeout)
        while Date() < deadline {
            if cancellation.isCancelled {
                call.cancel()
                throw CancellationError()
            }
            if let outcome = call.wait(timeout: 0.25) { return try outcome.get() }
        }
        call.cancel()
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
