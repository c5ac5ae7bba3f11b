import Foundation
import HTTPServer
import Tokenizer

/// `POST /v1/translate` (also the `translate` job type) and `GET /v1/languages`.
///
/// Each given text is translated as one unit (send sentences or short paragraphs; the
/// legacy `/translate` route is the one that cuts text into sentences and protects tags).
struct NativeTranslation {
    let environment: ServingEnvironment

    func register(on router: Router) {
        router.post("/v1/translate") { request, context in try postTranslate(request, context) }
        router.get("/v1/languages") { request, context in try getLanguages(request, context) }
    }

    func getLanguages(_ request: HTTPRequest, _ context: RequestContext) throws -> HTTPResponse {
        let service = try environment.translationService(
            named: request.queryValue("model"), listener: context.listenerName)
        let codes = service.backend.languages
        let names = Dictionary(
            codes.compactMap { code in FloresLanguages.name(of: code).map { (code, $0) } },
            uniquingKeysWith: { first, _ in first })
        return .json(bytes: try APIJSON.encode(LanguagesResponse(model: service.name, languages: codes, names: names)))
    }

    func postTranslate(_ request: HTTPRequest, _ context: RequestContext) throws -> HTTPResponse {
        let body = try APIJSON.decode(TranslateRequestBody.self, from: request)
        let (service, translation) = try prepare(body, listener: context.listenerName)
        if body.stream == true {
            // Validated and queued before the 200 goes out, so a full queue is still a 429.
            let timeout = environment.configuration.requestTimeout
            let call: TranslationCall
            do {
                call = try TranslationCall(translation, on: service, timeout: timeout, cancelOn: context.disconnect)
            } catch {
                throw APIErrors.httpError(for: error)
            }
            return .eventStream { events in
                switch call.wait(timeout: timeout) {
                case .success(let result)?:
                    RequestLogRecord.current?.model = service.name
                    RequestLogRecord.current?.tokens(prompt: result.promptTokens, generated: result.generatedTokens)
                    for (index, text) in result.texts.enumerated() {
                        guard
                            events.send(
                                data: APIJSON.encodeString(TranslationEvent(index: index, text: text)),
                                event: "translation")
                        else { return }
                    }
                    events.send(
                        data: APIJSON.encodeString(Self.response(result, translation, model: service.name)),
                        event: "done")
                case .failure(let error)?:
                    events.send(data: OpenAIHandlers.errorJSON(APIErrors.httpError(for: error)), event: "error")
                case nil:
                    call.cancel()
                    events.send(
                        data: OpenAIHandlers.errorJSON(
                            APIErrors.httpError(for: ExecutorError.timedOut(seconds: timeout))), event: "error")
                }
            }
        }
        let result = try TranslationCall.run(
            translation, on: service, timeout: environment.configuration.requestTimeout,
            cancelOn: context.disconnect)
        return .json(bytes: try APIJSON.encode(Self.response(result, translation, model: service.name)))
    }

    func prepare(_ body: TranslateRequestBody, listener: String?, checkReady: Bool = true) throws -> (
        TranslationService, TranslationRequest
    ) {
        let service = try environment.translationService(named: body.model, listener: listener, checkReady: checkReady)
        let texts: [String]
        switch (body.text, body.texts) {
        case (_?, _?): throw APIErrors.invalid("texts", "give text or texts, not both.")
        case (let text?, nil): texts = [text]
        case (nil, let list?): texts = list
        case (nil, nil):
            throw HTTPError(.badRequest, "Missing required field 'texts' (or 'text').", code: "invalid_request")
        }
        let limit = environment.configuration.maxTranslationTexts
        guard !texts.isEmpty else { throw APIErrors.invalid("texts", "give at least one text.") }
        guard texts.count <= limit else {
            throw APIErrors.invalid("texts", "at most \(limit) texts per request, got \(texts.count).")
        }
        guard let target = body.target else {
            throw HTTPError(.badRequest, "Missing required field 'target'.", code: "invalid_request")
        }
        let source = body.source ?? "eng_Latn"
        do {
            try service.backend.validateLanguage(source, field: "source")
            try service.backend.validateLanguage(target, field: "target")
        } catch {
            throw APIErrors.httpError(for: error)
        }
        let beams = try SamplingValidation.integer(body.beams, "beams", in: 1...16)
        let maxTokens = try SamplingValidation.integer(body.maxTokens, "max_tokens", in: 1...4096)
        return (
            service,
            TranslationRequest(texts: texts, source: source, target: target, beams: beams, maxNewTokens: maxTokens)
        )
    }

    static func response(_ result: TranslationResult, _ request: TranslationRequest, model: String) -> TranslateResponse
    {
        TranslateResponse(model: model, source: request.source, target: request.target, translations: result.texts)
    }
}
