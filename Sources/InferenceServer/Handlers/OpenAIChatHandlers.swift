import Foundation
import Generation
import HTTPServer

/// `POST /v1/chat/completions`: the conversation becomes one prompt through the model's
/// `ChatTemplate`, and from there it is a completion: the same validation
/// (`OpenAIHandlers.makePlan`), the same executor call and stop handling, with chat's
/// response shapes. `max_completion_tokens` (or `max_tokens`) defaults to the rest of the
/// model's context, as OpenAI's does.
struct OpenAIChatHandlers {
    let environment: ServingEnvironment

    func register(on router: Router) {
        router.post("/v1/chat/completions") { request, context in try postChatCompletions(request, context) }
    }

    func postChatCompletions(_ request: HTTPRequest, _ context: RequestContext) throws -> HTTPResponse {
        let body = try APIJSON.decode(ChatCompletionRequest.self, from: request)
        let service = try environment.generationService(named: body.model, listener: context.listenerName)
        let plan = try makePlan(body, service: service)
        let call = try GenerationCall.forRequest(
            service: service, requests: plan.requests, cancelOn: context.disconnect)
        let id = "chatcmpl-" + RandomID.make(length: 24)
        let created = Int(Date().timeIntervalSince1970)
        if body.stream == true {
            let includeUsage = body.streamOptions?.includeUsage == true
            return stream(call, plan: plan, id: id, created: created, includeUsage: includeUsage)
        }
        var logprobs = [ChatLogprobs](repeating: ChatLogprobs(), count: plan.requests.count)
        let results = call.run(onEvent: { event in
            if case .token(let choice, let step) = event, plan.logprobs != nil {
                logprobs[choice].content.append(entry(step, service))
            }
            return true
        })
        let outcomes = try GenerationCall.outcomes(results)
        let choices = outcomes.enumerated().map { index, outcome in
            ChatChoice(
                index: index, message: ChatMessageBody(role: "assistant", content: outcome.text, isDelta: false),
                logprobs: plan.logprobs == nil ? nil : logprobs[index],
                finish_reason: OpenAIHandlers.finishReason(outcome.finishReason))
        }
        let usage = OpenAIHandlers.usage(plan, outcomes.map(\.generatedIDs.count))
        let response = ChatCompletionResponse(
            id: id, object: "chat.completion", created: created, model: service.name,
            choices: choices, usage: usage)
        return .json(bytes: try APIJSON.encode(response))
    }

    /// The messages rendered into one prompt, then the completions plan: sampling is
    /// validated in one place. The template's own stop strings come after the client's.
    func makePlan(_ body: ChatCompletionRequest, service: GenerationService) throws -> OpenAIHandlers.Plan {
        if let tools = body.tools, !tools.isEmpty {
            throw APIErrors.unsupported("tools", "these models cannot call tools; leave 'tools' out.")
        }
        if let format = body.responseFormat?.type, format != "text" {
            throw APIErrors.unsupported("response_format", "only {\"type\": \"text\"} is supported.")
        }
        let topLogprobs = try SamplingValidation.integer(body.topLogprobs, "top_logprobs", in: 0...20)
        if topLogprobs != nil && body.logprobs != true {
            throw APIErrors.invalid("top_logprobs", "requires 'logprobs': true.")
        }
        let messages = try Self.messages(body.messages)
        let prompt: String
        do {
            prompt = try service.chatTemplate.render(messages, addGenerationPrompt: true)
        } catch {
            throw APIErrors.invalid("messages", "\(error)")
        }
        var completion = CompletionRequest()
        completion.model = body.model
        completion.prompt = .texts([prompt])
        completion.maxTokens = try Self.maxTokens(body)
        completion.temperature = body.temperature
        completion.topP = body.topP
        completion.n = body.n
        completion.logprobs = body.logprobs == true ? (topLogprobs ?? 0) : nil
        completion.stop = body.stop
        completion.presencePenalty = body.presencePenalty
        completion.frequencyPenalty = body.frequencyPenalty
        completion.seed = body.seed
        completion.logitBias = body.logitBias
        completion.topK = body.topK
        completion.minP = body.minP
        completion.repetitionPenalty = body.repetitionPenalty
        var plan = try OpenAIHandlers(environment: environment).makePlan(completion, service: service)
        let extra = service.chatTemplate.stopStrings
        plan.requests = plan.requests.map { request in
            var request = request
            request.parameters.stopStrings += extra.filter { !request.parameters.stopStrings.contains($0) }
            return request
        }
        return plan
    }

    private static func maxTokens(_ body: ChatCompletionRequest) throws -> Int {
        let limit = 0...Int(Int32.max)
        if let value = try SamplingValidation.integer(body.maxCompletionTokens, "max_completion_tokens", in: limit) {
            return value
        }
        return try SamplingValidation.integer(body.maxTokens, "max_tokens", in: limit) ?? Int(Int32.max)
    }

    /// The template's messages: roles system, user and assistant (developer is system's new
    /// name); content as a string or text parts, joined.
    static func messages(_ messages: [ChatRequestMessage]) throws -> [ChatMessage] {
        guard !messages.isEmpty else { throw APIErrors.invalid("messages", "give at least one message.") }
        return try messages.enumerated().map { index, message in
            let role: String
            switch message.role {
            case "system", "developer": role = "system"
            case "user", "assistant": role = message.role
            default:
                throw APIErrors.invalid(
                    "messages[\(index)].role",
                    "'\(message.role)' is not supported; use system, user or assistant.")
            }
            switch message.content {
            case .text(let text)?:
                return ChatMessage(role: role, content: text)
            case .parts(let parts)?:
                var text = ""
                for (p, part) in parts.enumerated() {
                    guard part.type == "text", let piece = part.text else {
                        throw APIErrors.unsupported(
                            "messages[\(index)].content[\(p)]",
                            "only text parts are supported, got '\(part.type)'.")
                    }
                    text += piece
                }
                return ChatMessage(role: role, content: text)
            case nil:
                guard role == "assistant" else {
                    throw APIErrors.invalid("messages[\(index)].content", "a \(role) message needs content.")
                }
                return ChatMessage(role: role, content: "")
            }
        }
    }

    private func stream(
        _ call: GenerationCall, plan: OpenAIHandlers.Plan, id: String, created: Int,
        includeUsage: Bool
    ) -> HTTPResponse {
        let service = plan.service
        return .eventStream { events in
            func send(_ choice: ChatChoice) -> Bool {
                let chunk = ChatCompletionResponse(
                    id: id, object: "chat.completion.chunk", created: created,
                    model: service.name, choices: [choice], usage: nil)
                return events.send(data: APIJSON.encodeString(chunk))
            }
            // OpenAI's first chunk of each choice carries the role and empty content.
            for index in 0..<plan.requests.count {
                let first = ChatMessageBody(role: "assistant", content: "", isDelta: true)
                guard send(ChatChoice(index: index, delta: first)) else {
                    call.cancel()
                    break
                }
            }
            var failure: Error?
            let results = call.run(onEvent: { event in
                switch event {
                case .token(let choice, let step):
                    let logprobs = plan.logprobs == nil ? nil : ChatLogprobs(content: [entry(step, service)])
                    guard !step.text.isEmpty || logprobs != nil else { return true }
                    return send(
                        ChatChoice(
                            index: choice, delta: ChatMessageBody(content: step.text, isDelta: true),
                            logprobs: logprobs))
                case .finished(let choice, let outcome):
                    return send(
                        ChatChoice(
                            index: choice, delta: ChatMessageBody(isDelta: true),
                            finish_reason: OpenAIHandlers.finishReason(outcome.finishReason)))
                case .failed(_, let error):
                    failure = failure ?? error
                    return true
                }
            })
            if let failure {
                events.send(data: OpenAIHandlers.errorJSON(APIErrors.httpError(for: failure)))
                return
            }
            let generated = results.map { (try? $0.get())?.generatedIDs.count ?? 0 }
            let usage = OpenAIHandlers.usage(plan, generated)
            if includeUsage {
                let chunk = ChatCompletionResponse(
                    id: id, object: "chat.completion.chunk", created: created,
                    model: service.name, choices: [], usage: usage)
                events.send(data: APIJSON.encodeString(chunk))
            }
            events.send(data: "[DONE]")
        }
    }

    /// One token's chat logprob entry: its text, bytes and the alternatives.
    private func entry(_ step: GenerationStep, _ service: GenerationService) -> ChatTokenLogprob {
        func describe(_ token: Int) -> (String, [UInt8]) {
            let bytes = service.tokenizer.bytes(forToken: token, isFirst: false) ?? []
            return (service.tokenizer.decode([token], skipSpecialTokens: false), bytes)
        }
        let (text, bytes) = describe(step.token)
        let alternatives = step.topLogprobs.map { alternative -> ChatTokenLogprob.Alternative in
            let (text, bytes) = describe(alternative.token)
            return ChatTokenLogprob.Alternative(token: text, logprob: alternative.logprob, bytes: bytes)
        }
        return ChatTokenLogprob(token: text, logprob: step.logprob ?? 0, bytes: bytes, top_logprobs: alternatives)
    }
}
