import Foundation
import Generation
import HTTPServer

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
        let run: StoryRun
        do {
            run = try StoryRun(
                plan: plan, timeout: environment.configuration.requestTimeout, cancelOn: context.disconnect)
        } catch {
            throw APIErrors.httpError(for: error)
        }
        if body.stream == true {
            return .eventStream { events in
                let result = run.run(started: started) { paragraph in
                    events.send(data: APIJSON.encodeString(StoryParagraphJSON(paragraph)), event: "paragraph")
                }
                switch result {
                case .success(let outcome):
                    events.send(data: APIJSON.encodeString(StoryResponse(outcome, plan: plan)), event: "done")
                case .failure(let error):
                    events.send(data: OpenAIHandlers.errorJSON(APIErrors.httpError(for: error)), event: "error")
                }
            }
        }
        let outcome = try run.run(started: started) { _ in true }.mapError { APIErrors.httpError(for: $0) }.get()
        return .json(bytes: try APIJSON.encode(StoryResponse(outcome, plan: plan)))
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
    /// New tokens at most per translated sentence: the old translator's max_length=1000 (the
    /// backend caps it to its context).
    var translationMaxNewTokens = 1000

    static func make(
        _ body: StoryRequestBody, environment: ServingEnvironment, listener: String?,
        checkReady: Bool = true
    ) throws -> StoryPlan {
        let service = try environment.generationService(named: body.model, listener: listener, checkReady: checkReady)
        let language = body.language ?? sourceLanguage
        var translator: TranslationService?
        if language != sourceLanguage || body.translator != nil {
            if body.translator == nil && environment.registry.translationServices.isEmpty {
                throw noTranslator(language)
            }
            translator = try environment.translationService(
                named: body.translator, listener: nil, checkReady: checkReady)
        }
        return try StoryPlan(
            body, service: service, translator: translator, timeout: environment.configuration.requestTimeout)
    }

    /// Checks `body` against the story model and the translator (when one is needed).
    init(_ body: StoryRequestBody, service: GenerationService, translator: TranslationService?, timeout: TimeInterval)
        throws
    {
        let prompt = try Self.prompt(body)
        let presets = service.storyPresets
        let audience = body.audience ?? presets.fallback
        guard let preset = presets.preset(named: audience) else {
            throw APIErrors.invalid(
                "audience",
                "'\(audience)' is not an audience of '\(service.name)': use one of "
                    + presets.names.joined(separator: ", ") + ".")
        }
        if body.maxNewTokens != nil && body.maxLength != nil {
            throw APIErrors.invalid("max_length", "give max_new_tokens or max_length, not both.")
        }
        let maxNew = try SamplingValidation.integer(body.maxNewTokens, "max_new_tokens", in: 0...Int(Int32.max))
        let maxLength = try SamplingValidation.integer(body.maxLength, "max_length", in: 1...Int(Int32.max))
        var budget = preset
        if let maxLength { budget.maxLength = maxLength }
        generation = try StoryGeneration.request(
            prompt: prompt, preset: budget, seed: body.seed, maxNewTokens: maxNew,
            service: service, timeout: timeout)
        language = body.language ?? Self.sourceLanguage
        if language != Self.sourceLanguage {
            guard let translator else { throw Self.noTranslator(language) }
            do { try translator.backend.validateLanguage(language, field: "language") } catch {
                throw APIErrors.httpError(for: error)
            }
        }
        self.service = service
        self.audience = audience.lowercased()
        self.translator = language == Self.sourceLanguage ? nil : translator
    }

    static func noTranslator(_ language: String) -> HTTPError {
        APIErrors.invalid(
            "language",
            "'\(language)' needs a translation model and none is loaded: start serve with "
                + "--model NAME=NLLB_FOLDER (or give the story command --translator), or leave language at "
                + "\(sourceLanguage).")
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
        return "### Prompt: Write a short story in the genre \(genre)\(reader) where the protagonists are "
            + "\(protagonists).\n"
            + "### Genre: \(genre)\n### Story:"
    }
}

/// One story being generated and translated: drives the generation, hands the text to a
/// `StoryWriter`, and gives each paragraph to `onParagraph` in order.
final class StoryRun: Sendable {
    let plan: StoryPlan
    private let call: GenerationCall
    private let writer: StoryWriter

    /// Submits the generation, so a full queue (`ExecutorError.queueFull`) is an error before any
    /// reply goes out.
    init(plan: StoryPlan, timeout: TimeInterval, cancelOn disconnect: DisconnectSignal?) throws {
        self.plan = plan
        call = try GenerationCall(service: plan.service, requests: [plan.generation], cancelOn: disconnect)
        var translate: StoryWriter.Translate?
        if let translator = plan.translator {
            let target = plan.language
            let budget = plan.translationMaxNewTokens
            translate = { text in
                try StoryTeller.translate(
                    paragraph: text, to: target, on: translator, maxNewTokens: budget, timeout: timeout,
                    cancelOn: disconnect)
            }
        }
        writer = StoryWriter(translate: translate)
    }

    func cancel() { call.cancel() }

    /// Runs the story to its end. `onParagraph` returning false (client gone) cancels it.
    /// `isCancelled` is polled between tokens (job cancellation).
    func run(
        started: UInt64, isCancelled: (() -> Bool)? = nil,
        onParagraph: (StoryParagraph) -> Bool
    ) -> Result<StoryOutcome, Error> {
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
            // Only whitespace (a closing word ends) or a colon (a `Story:` marker) can make a
            // paragraph final: other tokens skip re-cutting the whole text.
            if step.text.unicodeScalars.contains(where: { $0 == ":" || PythonWhitespace.contains($0) }) {
                writer.textDidGrow(text)
            }
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
        return .success(
            StoryOutcome(
                paragraphs: paragraphs, finishReason: outcome.finishReason.rawValue, seed: outcome.seed,
                promptTokens: outcome.promptIDs.count, generatedTokens: outcome.generatedIDs.count,
                generationMilliseconds: outcome.timings.totalMs,
                totalMilliseconds: Double(DispatchTime.now().uptimeNanoseconds - started) / 1e6))
    }
}

extension StoryResponse {
    init(_ outcome: StoryOutcome, plan: StoryPlan) {
        let prompt = outcome.promptTokens
        let generated = outcome.generatedTokens
        self.init(
            model: plan.service.name, translator: plan.translator?.name, language: plan.language,
            audience: plan.audience,
            paragraphs: outcome.paragraphs.map(StoryParagraphJSON.init), content: outcome.content,
            original_content: outcome.originalContent, finish_reason: outcome.finishReason, seed: outcome.seed,
            usage: CompletionUsage(
                prompt_tokens: prompt, completion_tokens: generated, total_tokens: prompt + generated),
            timings: StoryTimings(
                generation_ms: outcome.generationMilliseconds, translation_ms: outcome.translationMilliseconds,
                total_ms: outcome.totalMilliseconds))
    }
}

extension StoryParagraphJSON {
    init(_ paragraph: StoryParagraph) {
        self.init(index: paragraph.index, text: paragraph.text, translation: paragraph.translation)
    }
}
