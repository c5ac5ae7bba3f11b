import Foundation
import HTTPServer

/// `POST /v1/tokenize` and `POST /v1/detokenize` with a generation model's tokenizer.
struct TokenizeHandlers {
    let environment: ServingEnvironment

    func register(on router: Router) {
        router.post("/v1/tokenize") { request, context in
            let body = try APIJSON.decode(TokenizeRequestBody.self, from: request)
            let service = try environment.generationService(named: body.model, listener: context.listenerName)
            let ids = service.tokenizer.encode(body.text)
            return .json(bytes: try APIJSON.encode(TokenizeResponse(model: service.name, ids: ids, count: ids.count)))
        }
        router.post("/v1/detokenize") { request, context in
            let body = try APIJSON.decode(DetokenizeRequestBody.self, from: request)
            let service = try environment.generationService(named: body.model, listener: context.listenerName)
            try service.validate(ids: body.ids, field: "ids")
            let text = service.tokenizer.decode(body.ids, skipSpecialTokens: body.skipSpecialTokens ?? false)
            return .json(bytes: try APIJSON.encode(DetokenizeResponse(model: service.name, text: text)))
        }
    }
}
