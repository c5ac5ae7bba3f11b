import Foundation
import Generation
import HTTPServer

/// The OpenAI-compatible routes: `POST /v1/completions`, `GET /v1/models`, `GET /v1/models/{id}`
/// (`POST /v1/chat/completions` is `OpenAIChatHandlers`).
///
/// Sampling follows OpenAI's semantics, not the model folder's generation_config.json:
/// temperature 1 and top_p 1 unless given (temperature 0 is greedy), no top-k unless the
/// `top_k` extension is sent. `max_tokens` (default 16) is capped so prompt and output
/// fit the model's context; only a prompt that leaves no room at all is a 400.
struct OpenAIHandlers {
    let environment: ServingEnvironment

    func register(on router: Router) {
        router.post("/v1/completions") { request, context in try postCompletions(request, context) }
        router.get("/v1/models") { request, _ in try getModels(all: request.queryValue("all") == "true") }
        router.get("/v1/models/{model...}") { request, _ in try getModel(request.parameter("model") ?? "") }
    }

    // MARK: GET /v1/models

    /// The models a completions or chat client can use (text generation); with
    /// `?all=true`, every model. Each card says its `kind`: generation or translation.
    func getModels(all: Bool) throws -> HTTPResponse {
        try environment.requireReady()
        let entries = environment.registry.all.filter { all || Self.kind($0) == "generation" }
        return .json(bytes: try APIJSON.encode(ModelList(data: entries.map(card))))
    }

    /// A generation model's card; a translation model is 404 here (no OpenAI client can use
    /// it), with a pointer to the native routes.
    func getModel(_ name: String) throws -> HTTPResponse {
        try environment.requireReady()
        guard let entry = environment.registry.entry(named: name) else {
            throw APIErrors.modelNotFound(name, available: environment.registry.generationServices.map(\.name))
        }
        guard Self.kind(entry) == "generation" else {
            throw HTTPError(
                .notFound,
                "'\(name)' is a translation model: it is listed by GET /v1/models?all=true "
                    + "and "
                    + "served by POST /v1/translate, not by the OpenAI routes.", code: "model_not_found")
        }
        return .json(bytes: try APIJSON.encode(card(entry)))
    }

    private func card(_ entry: ModelRegistry.Entry) -> ModelCard {
        ModelCard(id: entry.name, created: Int(ServerClock.startedAt.timeIntervalSince1970), kind: Self.kind(entry))
    }

    static func kind(_ entry: ModelRegistry.Entry) -> String {
        switch entry {
        case .generation: return "generation"
        case .translation: return "translation"
        }
    }

    // MARK: POST /v1/completions

    struct Plan {
        let service: GenerationService
        /// Prompt-major: prompt p's choice k is request p·n + k.
        var requests: [GenerationRequest]
        let promptTexts: [String]
        let n: Int
        let echo: Bool
        let logprobs: Int?
    }

    func postCompletions(_ request: HTTPRequest, _ context: RequestContext) throws -> HTTPResponse {
        let body = try APIJSON.decode(CompletionRequest.self, from: request)
        let service = try environment.generationService(named: body.model, listener: context.listenerName)
        let plan = try makePlan(body, service: service)
        let call = try GenerationCall.forRequest(
            service: service, requests: plan.requests, cancelOn: context.disconnect)
        let id = "cmpl-" + RandomID.make(length: 24)
        let created = Int(Date().timeIntervalSince1970)
        if body.stream == true {
            return stream(
                call, plan: plan, id: id, created: created, includeUsage: body.streamOptions?.includeUsage == true)
        }
        var accumulators = (0..<plan.requests.count).map { _ in LogprobAccumulator(service: service) }
        let results = call.run(onEvent: { event in
            if case .token(let choice, let step) = event, plan.logprobs != nil { accumulators[choice].add(step) }
            return true
        })
        let outcomes = try GenerationCall.outcomes(results)
        let choices = outcomes.enumerated().map { index, outcome -> CompletionChoice in
            let prefix = plan.echo ? plan.promptTexts[index / plan.n] : ""
            return CompletionChoice(
                text: prefix + outcome.text, index: index,
                logprobs: plan.logprobs == nil ? nil : accumulators[index].logprobs,
                finish_reason: Self.finishReason(outcome.finishReason))
        }
        let usage = Self.usage(plan, outcomes.map(\.generatedIDs.count))
        let response = CompletionResponse(id: id, created: created, model: service.name, choices: choices, usage: usage)
        return .json(bytes: try APIJSON.encode(response))
    }

    /// Validates everything before any work is queued.
    func makePlan(_ body: CompletionRequest, service: GenerationService) throws -> Plan {
        let limits = environment.configuration
        let n = try SamplingValidation.integer(body.n, "n", in: 1...limits.maxChoicesPerRequest) ?? 1
        if let bestOf = body.bestOf, bestOf != n {
            throw APIErrors.unsupported("best_of", "only best_of equal to n (or absent) is supported.")
        }
        if let bias = body.logitBias, !bias.isEmpty {
            throw APIErrors.unsupported("logit_bias", "send an empty object or leave it out.")
        }
        if let suffix = body.suffix, !suffix.isEmpty {
            throw APIErrors.unsupported("suffix", "insertion is not supported by these models.")
        }
        let logprobs = try SamplingValidation.integer(body.logprobs, "logprobs", in: 0...20)
        let echo = body.echo ?? false
        if echo && logprobs != nil {
            throw APIErrors.unsupported("echo", "echo together with logprobs (prompt logprobs) is not supported.")
        }
        let maxTokens = try SamplingValidation.integer(body.maxTokens, "max_tokens", in: 0...Int(Int32.max)) ?? 16

        var parameters = GenerationParameters()
        parameters.doSample = true
        parameters.temperature = try SamplingValidation.number(body.temperature, "temperature", in: 0...2) ?? 1
        parameters.topP = try SamplingValidation.number(body.topP, "top_p", in: 0...1, excludingLower: true) ?? 1
        parameters.topK = try SamplingValidation.integer(body.topK, "top_k", in: 0...Int(Int32.max)) ?? 0
        parameters.minP = try SamplingValidation.number(body.minP, "min_p", in: 0...1) ?? 0
        parameters.repetitionPenalty =
            try SamplingValidation.number(
                body.repetitionPenalty, "repetition_penalty", in: 0...10, excludingLower: true) ?? 1
        parameters.presencePenalty =
            try SamplingValidation.number(body.presencePenalty, "presence_penalty", in: -2...2) ?? 0
        parameters.frequencyPenalty =
            try SamplingValidation.number(body.frequencyPenalty, "frequency_penalty", in: -2...2) ?? 0
        parameters.stopStrings = try SamplingValidation.stops(
            body.stop, maxCount: limits.maxStopStrings, maxBytes: limits.maxStopStringBytes)
        parameters.eosTokenIDs = service.defaults.eosTokenIDs

        let prompts: [[Int]]
        var promptTexts: [String]
        switch body.prompt ?? .texts([""]) {
        case .texts(let texts):
            prompts = texts.map(service.encode)
            promptTexts = texts
        case .tokenLists(let lists):
            for (index, ids) in lists.enumerated() { try service.validate(ids: ids, field: "prompt[\(index)]") }
            prompts = lists.map { $0.isEmpty ? service.encode("") : $0 }
            promptTexts = lists.map { service.tokenizer.decode($0, skipSpecialTokens: false) }
        }
        guard !prompts.isEmpty else { throw APIErrors.invalid("prompt", "give at least one prompt.") }
        guard prompts.count * n <= limits.maxChoicesPerRequest else {
            throw APIErrors.invalid(
                "n", "prompts × n may be at most \(limits.maxChoicesPerRequest), got \(prompts.count * n).")
        }
        var requests: [GenerationRequest] = []
        for ids in prompts {
            for choice in 0..<n {
                var p = parameters
                // Each choice gets its own stream of draws; the same seed still reproduces the whole response.
                p.seed = body.seed.map { UInt64(bitPattern: $0) &+ UInt64(choice) }
                try service.capBudget(&p, promptCount: ids.count, requested: maxTokens)
                do { try p.validate() } catch { throw APIErrors.httpError(for: error) }
                requests.append(
                    GenerationRequest(
                        promptIDs: ids, parameters: p, wantsLogprobs: logprobs != nil,
                        topLogprobs: logprobs ?? 0, timeout: limits.requestTimeout))
            }
        }
        if !echo { promptTexts = [] }
        return Plan(
            service: service, requests: requests, promptTexts: promptTexts, n: n, echo: echo, logprobs: logprobs)
    }

    private func stream(_ call: GenerationCall, plan: Plan, id: String, created: Int, includeUsage: Bool)
        -> HTTPResponse
    {
        let service = plan.service
        return .eventStream { events in
            func send(_ choice: CompletionChoice) -> Bool {
                let chunk = CompletionResponse(
                    id: id, created: created, model: service.name, choices: [choice], usage: nil)
                return events.send(data: APIJSON.encodeString(chunk))
            }
            if plan.echo {
                for index in 0..<plan.requests.count {
                    _ = send(
                        CompletionChoice(
                            text: plan.promptTexts[index / plan.n], index: index, logprobs: nil, finish_reason: nil))
                }
            }
            var failure: Error?
            let results = call.run(onEvent: { event in
                switch event {
                case .token(let choice, let step):
                    var logprobs: CompletionLogprobs?
                    if plan.logprobs != nil {
                        var accumulator = LogprobAccumulator(service: service)
                        accumulator.add(step)
                        logprobs = accumulator.logprobs
                    }
                    guard !step.text.isEmpty || logprobs != nil else { return true }
                    return send(
                        CompletionChoice(text: step.text, index: choice, logprobs: logprobs, finish_reason: nil))
                case .finished(let choice, let outcome):
                    return send(
                        CompletionChoice(
                            text: "", index: choice, logprobs: nil,
                            finish_reason: Self.finishReason(outcome.finishReason)))
                case .failed(_, let error):
                    failure = failure ?? error
                    return true
                }
            })
            if let failure {
                // The status line is gone already: report in-band, as OpenAI does.
                events.send(data: Self.errorJSON(APIErrors.httpError(for: failure)))
                return
            }
            let generated = results.map { (try? $0.get())?.generatedIDs.count ?? 0 }
            let usage = Self.usage(plan, generated)
            if includeUsage {
                let chunk = CompletionResponse(id: id, created: created, model: service.name, choices: [], usage: usage)
                events.send(data: APIJSON.encodeString(chunk))
            }
            events.send(data: "[DONE]")
        }
    }

    static func usage(_ plan: Plan, _ generated: [Int]) -> CompletionUsage {
        // Each prompt counts once, whatever n is (OpenAI's accounting).
        let prompt = stride(from: 0, to: plan.requests.count, by: plan.n).map { plan.requests[$0].promptIDs.count }
            .reduce(0, +)
        let completion = generated.reduce(0, +)
        return CompletionUsage(prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion)
    }

    static func finishReason(_ reason: FinishReason) -> String {
        switch reason {
        case .eos, .stop: return "stop"
        case .length: return "length"
        case .cancelled: return "cancelled"
        }
    }

    /// `{"error": {...}}` for an error reported inside an event stream: the body the
    /// OpenAI renderer would have sent, had the status line not gone out already.
    static func errorJSON(_ error: Error) -> String {
        guard case .bytes(let body) = HTTPErrorRenderers.openAI(HTTPErrorReport(error: error)).body else { return "{}" }
        return String(decoding: body, as: UTF8.self)
    }
}

/// Builds OpenAI's `logprobs` object token by token.
struct LogprobAccumulator {
    let service: GenerationService
    private(set) var logprobs = CompletionLogprobs()
    private var offset = 0

    init(service: GenerationService) {
        self.service = service
    }

    mutating func add(_ step: GenerationStep) {
        let piece = tokenText(step.token)
        logprobs.tokens.append(piece)
        logprobs.token_logprobs.append(step.logprob ?? 0)
        logprobs.text_offset.append(offset)
        offset += piece.count
        if !step.topLogprobs.isEmpty || logprobs.top_logprobs != nil {
            var top: [String: Float] = [:]
            for alternative in step.topLogprobs {
                let key = tokenText(alternative.token)
                top[key] = max(top[key] ?? -.infinity, alternative.logprob)
            }
            logprobs.top_logprobs = (logprobs.top_logprobs ?? []) + [top]
        }
    }

    private func tokenText(_ token: Int) -> String {
        service.tokenizer.decode([token], skipSpecialTokens: false)
    }
}

/// When this process started (`created` of `/v1/models`).
enum ServerClock {
    static let startedAt = Date()
}

/// Random identifiers for responses (`cmpl-...`).
enum RandomID {
    private static let alphabet = Array("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")

    static func make(length: Int) -> String {
        var generator = SystemRandomNumberGenerator()
        return String((0..<length).map { _ in alphabet[Int(generator.next() % UInt64(alphabet.count))] })
    }
}
