import Foundation
import Generation

/// `POST /v1/stories`: a story written for an audience and, when `language` is not English,
/// translated paragraph by paragraph on the translation model while the story model writes the
/// next paragraph. With `"stream": true` each paragraph is an `event: paragraph` as soon as it
/// is written and translated, then `event: done` carries the whole reply.
struct StoryHandlers {
    let environment: ServingEnvironment

    func register(on router: Router) {
        router.post("/v1/stories") { request, context in try postStory(request, context) }
    }

    func postStory(_ request: HTTPRequest, _ context: RequestContext) throws -> HTTPResponse {
        let started = DispatchTime.now().uptimeNanoseconds
        let body = try APIJSON.decode(StoryRequestBody.self, from: request)
        let plan = try StoryPlan.make(body, environment: environment, listener: context.listenerName)
        let run = try StoryRun(plan: plan, timeout: environment.configuration.requestTimeout, cancelOn: context.disconnect)
        if body.stream == true {
            return .eventStream { events in
                let result = run.run(started: started) { paragraph in
                    events.send(data: APIJSON.encodeString(StoryParagraphJSON(paragraph)), event: "paragraph")
                }
                switch result {
                case .success(let reply): events.send(data: APIJSON.encodeString(reply), event: "done")
                case .failure(let error): events.send(data: OpenAIHandlers.errorJSON(APIErrors.httpError(for: error)), event: "error")
                }
            }
        }
        let reply = try run.run(started: started) { _ in true }.mapError { APIErrors.httpError(for: $0) }.get()
        return .json(bytes: try APIJSON.encode(reply))
    }
}

/// A story request checked and resolved: the story model and its request, the translator when
/// a language other than English was asked for.
struct StoryPlan {
    static let sourceLanguage = "eng_Latn"

    let service: GenerationService
    let generation: GenerationRequest
    let audience: String
    let language: String
    let translator: TranslationService?

    static func make(_ body: StoryRequestBody, environment: ServingEnvironment, listener: String?,
                     checkReady: Bool = true) throws -> StoryPlan {
        let service = try environment.generationService(named: body.model, listener: listener, checkReady: checkReady)
        let prompt = try self.prompt(body)
        let presets = service.storyPresets
        let audience = body.audience ?? presets.fallback
        guard let preset = presets.preset(named: audience) else {
            throw APIErrors.invalid("audience", "'\(audience)' is not an audience of '\(service.name)': use one of "
                + presets.names.joined(separator: ", ") + ".")
        }
        if body.maxNewTokens != nil && body.maxLength != nil {
            throw APIErrors.invalid("max_length", "give max_new_tokens or max_length, not both.")
        }
        let maxNew = try SamplingValidation.integer(body.maxNewTokens, "max_new_tokens", in: 0...Int(Int32.max))
        let maxLength = try SamplingValidation.integer(body.maxLength, "max_length", in: 1...Int(Int32.max))
        var budget = preset
        if let maxLength { budget.maxLength = maxLength }
        let generation = try StoryGeneration.request(prompt: prompt, preset: budget, seed: body.seed, maxNewTokens: maxNew,
                                                     service: service, timeout: environment.configuration.requestTimeout)

        let language = body.language ?? sourceLanguage
        var translator: TranslationService?
        if language != sourceLanguage || body.translator != nil {
            if body.translator == nil && environment.registry.translationServices.isEmpty {
                throw APIErrors.invalid("language", "'\(language)' needs a translation model and none is loaded: start serve "
                    + "with --model NAME=NLLB_FOLDER, or leave language at \(sourceLanguage).")
            }
            let service = try environment.translationService(named: body.translator, listener: nil, checkReady: checkReady)
            do { try service.backend.validateLanguage(language, field: "language") } catch { throw APIErrors.httpError(for: error) }
            translator = language == sourceLanguage ? nil : service
        }
        return StoryPlan(service: service, generation: generation, audience: audience.lowercased(), language: language,
                         translator: translator)
    }

    /// `prompt`, or the platform's medium-model prompt built from the structured fields. It ends
    /// with `### Story:`, so paragraphs stream from the first one.
    static func prompt(_ body: StoryRequestBody) throws -> String {
        if let prompt = body.prompt {
            guard body.genre == nil, body.protagonists == nil, body.gender == nil else {
                throw APIErrors.invalid("prompt", "give prompt or the fields genre, protagonists and gender, not both.")
            }
            guard !prompt.isEmpty else { throw APIErrors.invalid("prompt", "the prompt is empty.") }
            return prompt
        }
        guard let genre = body.genre, !genre.isEmpty, let protagonists = body.protagonists, !protagonists.isEmpty else {
            throw HTTPError(.badRequest, "Missing 'prompt' (or 'genre' and 'protagonists').", code: "invalid_request")
        }
        let reader = body.gender.map { " for a \($0)" } ?? ""
        return "### Prompt: Write a short story in the genre \(genre)\(reader) where the protagonists are \(protagonists).\n"
            + "### Genre: \(genre)\n### Story:"
    }
}

/// One story being generated and translated: drives the generation, hands the text to a
/// `StoryWriter`, and gives each paragraph to `onParagraph` in order.
final class StoryRun: @unchecked Sendable {
    let plan: StoryPlan
    private let call: GenerationCall
    private let writer: StoryWriter

    /// Submits the generation (so a full queue is an error before any reply goes out).
    init(plan: StoryPlan, timeout: TimeInterval, cancelOn disconnect: DisconnectSignal?) throws {
        self.plan = plan
        do {
            call = try GenerationCall(service: plan.service, requests: [plan.generation], cancelOn: disconnect)
        } catch {
            throw APIErrors.httpError(for: error)
        }
        var translate: StoryWriter.Translate?
        if let translator = plan.translator {
            let target = plan.language
            translate = { text in
                let sentences = LegacyText.planTranslation(text)
                guard !sentences.sourceSentences.isEmpty else { return try sentences.render(translations: []) }
                // max_length=1000 as the old translator asked; the backend caps it to its context.
                let request = TranslationRequest(texts: sentences.sourceSentences, source: StoryPlan.sourceLanguage,
                                                 target: target, beams: nil, maxNewTokens: 1000)
                let result = try TranslationCall.run(request, on: translator, timeout: timeout, cancelOn: disconnect)
                return try sentences.render(translations: result.texts)
            }
        }
        writer = StoryWriter(translate: translate)
    }

    func cancel() { call.cancel() }

    /// Runs the story to its end. `onParagraph` returning false (client gone) cancels it.
    /// `isCancelled` is polled between tokens (job cancellation).
    func run(started: UInt64, isCancelled: (() -> Bool)? = nil,
             onParagraph: (StoryParagraph) -> Bool) -> Result<StoryResponse, Error> {
        let service = plan.service
        var text = service.tokenizer.decode(plan.generation.promptIDs, skipSpecialTokens: true)
        var paragraphs: [StoryParagraph] = []
        var failure: Error?
        func deliver(_ ready: [StoryParagraph]) -> Bool {
            for paragraph in ready {
                paragraphs.append(paragraph)
                if !onParagraph(paragraph) { return false }
            }
            return true
        }
        let results = call.run(isCancelled: isCancelled) { event in
            guard failure == nil, case .token(_, let step) = event else { return true }
            text += step.text
            writer.textDidGrow(text)
            do { return deliver(try writer.takeReady()) } catch {
                failure = error
                return false
            }
        }
        if let failure { return .failure(failure) }
        let outcome: GenerationOutcome
        do { outcome = try results[0].get() } catch { return .failure(error) }
        if outcome.finishReason == .cancelled { return .failure(CancellationError()) }
        writer.finish(service.tokenizer.decode(outcome.promptIDs + outcome.generatedIDs, skipSpecialTokens: true))
        do {
            guard deliver(try writer.waitForRest()) else { return .failure(CancellationError()) }
        } catch {
            return .failure(error)
        }
        return .success(response(outcome, paragraphs: paragraphs, started: started))
    }

    private func response(_ outcome: GenerationOutcome, paragraphs: [StoryParagraph], started: UInt64) -> StoryResponse {
        let original = StoryFormatter.contentPrefix + paragraphs.map(\.text).joined(separator: StoryFormatter.paragraphSeparator)
        let translated = StoryFormatter.contentPrefix
            + paragraphs.map { $0.translation ?? $0.text }.joined(separator: StoryFormatter.paragraphSeparator)
        let prompt = outcome.promptIDs.count, generated = outcome.generatedIDs.count
        return StoryResponse(
            model: plan.service.name, translator: plan.translator?.name, language: plan.language, audience: plan.audience,
            paragraphs: paragraphs.map(StoryParagraphJSON.init), content: translated, original_content: original,
            finish_reason: outcome.finishReason.rawValue, seed: outcome.seed,
            usage: CompletionUsage(prompt_tokens: prompt, completion_tokens: generated, total_tokens: prompt + generated),
            timings: StoryTimings(generation_ms: outcome.timings.totalMs,
                                  translation_ms: paragraphs.reduce(0) { $0 + $1.translationMilliseconds },
                                  total_ms: Double(DispatchTime.now().uptimeNanoseconds - started) / 1e6))
    }
}

extension StoryParagraphJSON {
    init(_ paragraph: StoryParagraph) {
        self.init(index: paragraph.index, text: paragraph.text, translation: paragraph.translation)
    }
}
