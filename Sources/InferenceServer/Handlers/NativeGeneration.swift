import Foundation
import Generation
import HTTPServer

/// `POST /v1/generate` (also the `generate` job type): the CLI's options over HTTP.
///
/// Defaults come from the model folder's generation_config.json, then transformers'
/// defaults; giving temperature, top_k, top_p, min_p or seed turns sampling on unless
/// `greedy` is true (the CLI's rule). Without max_new_tokens / max_length, the folder's
/// max_length, else 128 new tokens. The budget is capped to the model's context.
struct NativeGeneration {
    let environment: ServingEnvironment

    func register(on router: Router) {
        router.post("/v1/generate") { request, context in try postGenerate(request, context) }
    }

    func postGenerate(_ request: HTTPRequest, _ context: RequestContext) throws -> HTTPResponse {
        let body = try APIJSON.decode(GenerateRequestBody.self, from: request)
        let (service, generation) = try prepare(body, listener: context.listenerName)
        let call = try GenerationCall.forRequest(service: service, requests: [generation], cancelOn: context.disconnect)
        if body.stream == true {
            return .eventStream { events in
                var failure: Error?
                var final: GenerationOutcome?
                _ = call.run(onEvent: { event in
                    switch event {
                    case .token(_, let step):
                        return events.send(
                            data: APIJSON.encodeString(GenerateTokenEvent(id: step.token, text: step.text)),
                            event: "token")
                    case .finished(_, let outcome): final = outcome
                    case .failed(_, let error): failure = error
                    }
                    return true
                })
                if let final {
                    events.send(data: APIJSON.encodeString(Self.response(final, model: service.name)), event: "done")
                } else {
                    events.send(
                        data: OpenAIHandlers.errorJSON(
                            APIErrors.httpError(for: failure ?? ExecutorError.shuttingDown(model: service.name))),
                        event: "error")
                }
            }
        }
        let outcome = try GenerationCall.outcomes(call.run())[0]
        return .json(bytes: try APIJSON.encode(Self.response(outcome, model: service.name)))
    }

    /// The model and the executor request for `body`, every value checked.
    func prepare(_ body: GenerateRequestBody, listener: String?, checkReady: Bool = true) throws -> (
        GenerationService, GenerationRequest
    ) {
        let limits = environment.configuration
        let service = try environment.generationService(named: body.model, listener: listener, checkReady: checkReady)
        let promptIDs: [Int]
        switch (body.prompt, body.promptIds) {
        case (_?, _?): throw APIErrors.invalid("prompt", "give prompt or prompt_ids, not both.")
        case (let text?, nil): promptIDs = service.encode(text)
        case (nil, let ids?):
            try service.validate(ids: ids, field: "prompt_ids")
            promptIDs = ids.isEmpty ? service.encode("") : ids
        case (nil, nil): promptIDs = service.encode("")
        }
        if body.maxNewTokens != nil && body.maxLength != nil {
            throw APIErrors.invalid("max_length", "give max_new_tokens or max_length, not both.")
        }
        if body.greedy == true && body.sample == true {
            throw APIErrors.invalid("greedy", "give greedy or sample, not both.")
        }

        var p = service.defaults
        let maxNew = try SamplingValidation.integer(body.maxNewTokens, "max_new_tokens", in: 0...Int(Int32.max))
        let maxLength = try SamplingValidation.integer(body.maxLength, "max_length", in: 1...Int(Int32.max))
        let samplingGiven =
            body.temperature != nil || body.topK != nil || body.topP != nil || body.minP != nil || body.seed != nil
        if body.greedy == true {
            p.doSample = false
        } else if body.sample == true || samplingGiven {
            p.doSample = true
        }
        if let v = try SamplingValidation.number(body.temperature, "temperature", in: 0...100) { p.temperature = v }
        if let v = try SamplingValidation.integer(body.topK, "top_k", in: 0...Int(Int32.max)) { p.topK = v }
        if let v = try SamplingValidation.number(body.topP, "top_p", in: 0...1, excludingLower: true) { p.topP = v }
        if let v = try SamplingValidation.number(body.minP, "min_p", in: 0...1) { p.minP = v }
        if let v = try SamplingValidation.number(
            body.repetitionPenalty, "repetition_penalty", in: 0...10, excludingLower: true)
        {
            p.repetitionPenalty = v
        }
        if let v = try SamplingValidation.number(body.presencePenalty, "presence_penalty", in: -2...2) {
            p.presencePenalty = v
        }
        if let v = try SamplingValidation.number(body.frequencyPenalty, "frequency_penalty", in: -2...2) {
            p.frequencyPenalty = v
        }
        if let v = try SamplingValidation.integer(
            body.noRepeatNgramSize, "no_repeat_ngram_size", in: 0...service.maxPositions)
        {
            p.noRepeatNgramSize = v
        }
        if let seed = body.seed { p.seed = seed }
        p.stopStrings = try SamplingValidation.stops(
            body.stop, maxCount: limits.maxStopStrings, maxBytes: limits.maxStopStringBytes)
        if body.ignoreEos == true { p.eosTokenIDs = [] }

        let requested: Int
        if let maxNew {
            requested = maxNew
        } else if let length = maxLength ?? p.maxLength {
            requested = max(0, length - promptIDs.count)
        } else {
            requested = p.maxNewTokens ?? 128
        }
        try service.capBudget(&p, promptCount: promptIDs.count, requested: requested)
        do { try p.validate() } catch { throw APIErrors.httpError(for: error) }
        return (service, GenerationRequest(promptIDs: promptIDs, parameters: p, timeout: limits.requestTimeout))
    }

    static func response(_ outcome: GenerationOutcome, model: String) -> GenerateResponse {
        let prompt = outcome.promptIDs.count
        let generated = outcome.generatedIDs.count
        return GenerateResponse(
            model: model, text: outcome.text, prompt_ids: outcome.promptIDs, generated_ids: outcome.generatedIDs,
            finish_reason: outcome.finishReason.rawValue, stop: outcome.stopString, seed: outcome.seed,
            usage: CompletionUsage(
                prompt_tokens: prompt, completion_tokens: generated, total_tokens: prompt + generated),
            timings: outcome.timings)
    }
}
