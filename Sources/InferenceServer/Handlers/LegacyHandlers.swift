import Foundation
import Generation
import HTTPServer

/// The old Flask services' routes, exactly: `POST /generate_story` and `POST /translate`.
/// Their error shapes come from `APIErrorRenderer` (chosen by path).
struct LegacyHandlers {
    let environment: ServingEnvironment

    func register(on router: Router) {
        router.post(LegacyRoutes.generateStory) { request, context in try postGenerateStory(request, context) }
        router.post(LegacyRoutes.translate) { request, context in try postTranslate(request, context) }
    }

    // MARK: POST /generate_story

    func postGenerateStory(_ request: HTTPRequest, _ context: RequestContext) throws -> HTTPResponse {
        let story = try LegacyStoryRequest.parse(request.body)
        let service = try environment.generationService(named: story.model, listener: context.listenerName)
        let generation = try StoryGeneration.request(
            for: story, service: service, timeout: environment.configuration.requestTimeout)
        let call = try GenerationCall.forRequest(service: service, requests: [generation], cancelOn: context.disconnect)
        let outcome = try GenerationCall.outcomes(call.run())[0]
        return try LegacyJSON.encode(LegacyStoryResponse(Content: StoryGeneration.content(outcome, service: service)))
    }

    // MARK: POST /translate

    func postTranslate(_ request: HTTPRequest, _ context: RequestContext) throws -> HTTPResponse {
        let body = try LegacyTranslateRequest.parse(request.body)
        let service = try environment.translationService(named: nil, listener: context.listenerName)
        do {
            try service.backend.validateLanguage(body.source, field: "Src_lang")
            try service.backend.validateLanguage(body.target, field: "Tgt_lang")
        } catch {
            throw APIErrors.httpError(for: error)
        }
        let plan = LegacyText.planTranslation(body.text)
        var translated: [String] = []
        if !plan.sourceSentences.isEmpty {
            // max_length=1000 as the old service asked; backends cap it to their context.
            let translation = TranslationRequest(
                texts: plan.sourceSentences, source: body.source, target: body.target,
                beams: nil, maxNewTokens: 1000)
            translated = try TranslationCall.run(
                translation, on: service, timeout: environment.configuration.requestTimeout,
                cancelOn: context.disconnect
            ).texts
        }
        return try LegacyJSON.encode(LegacyTranslateResponse(Content: plan.render(translations: translated)))
    }
}

/// The old story services' generation settings and post-processing (the route, `/v1/stories`
/// and the `story` job type share it).
enum StoryGeneration {
    /// `/generate_story`'s request: the audience's preset, anything unknown meaning the fallback.
    static func request(for story: LegacyStoryRequest, service: GenerationService, timeout: TimeInterval) throws
        -> GenerationRequest
    {
        let presets = service.storyPresets
        let preset = story.audience.flatMap(presets.preset(named:)) ?? presets.preset(named: presets.fallback)!
        return try request(
            prompt: story.prompt, preset: preset, seed: nil, maxNewTokens: nil, service: service, timeout: timeout)
    }

    /// Sampling on with the preset's top_p, temperature and repetition penalty over the model's
    /// defaults (transformers' top_k 50 unless generation_config.json says otherwise); the
    /// budget is the preset's max_length counting the prompt unless `maxNewTokens` is given.
    static func request(
        prompt: String, preset: StoryPreset, seed: UInt64?, maxNewTokens: Int?, service: GenerationService,
        timeout: TimeInterval
    ) throws -> GenerationRequest {
        let promptIDs = service.encode(prompt)
        var p = service.defaults
        p.doSample = true
        p.topP = preset.topP
        p.temperature = preset.temperature
        p.repetitionPenalty = preset.repetitionPenalty
        p.seed = seed
        p.stopStrings = []
        try service.capBudget(
            &p, promptCount: promptIDs.count, requested: maxNewTokens ?? max(0, preset.maxLength - promptIDs.count))
        do { try p.validate() } catch { throw APIErrors.httpError(for: error) }
        return GenerationRequest(promptIDs: promptIDs, parameters: p, timeout: timeout)
    }

    /// The whole output decoded (prompt included, special tokens skipped), post-processed
    /// with the model's variant: forced per model, else medium when the text has "### Story:".
    static func content(_ outcome: GenerationOutcome, service: GenerationService) -> String {
        let text = service.tokenizer.decode(outcome.promptIDs + outcome.generatedIDs, skipSpecialTokens: true)
        let variant = service.storyVariant ?? (text.contains("### Story:") ? .medium : .small)
        return LegacyText.formatStory(text, variant: variant)
    }
}
