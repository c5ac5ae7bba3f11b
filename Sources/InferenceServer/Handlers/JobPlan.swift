import Foundation
import HTTPServer

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

    static func make(
        _ kind: JobKind, body: [UInt8], environment: ServingEnvironment, listener: String?,
        checkReady: Bool = true
    ) throws -> JobPlan {
        switch kind {
        case .generate:
            let request = try APIJSON.decode(GenerateRequestBody.self, from: Data(body))
            let (service, generation) = try NativeGeneration(environment: environment)
                .prepare(request, listener: listener, checkReady: checkReady)
            return .generate(service, generation)
        case .story where isStoryInLanguage(body):
            let request = try APIJSON.decode(StoryRequestBody.self, from: Data(body))
            if request.stream == true {
                throw APIErrors.invalid("stream", "a job streams on /v1/jobs/{id}/events; leave stream out.")
            }
            return .storyInLanguage(
                try StoryPlan.make(request, environment: environment, listener: listener, checkReady: checkReady))
        case .story:
            let story = try LegacyStoryRequest.parse(body)
            let service = try environment.generationService(
                named: story.model, listener: listener, checkReady: checkReady)
            return .story(
                service,
                try StoryGeneration.request(
                    for: story, service: service,
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
        guard let object = (try? JSONSerialization.jsonObject(with: Data(body))) as? [String: Any],
            object["Prompt"] == nil
        else {
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
