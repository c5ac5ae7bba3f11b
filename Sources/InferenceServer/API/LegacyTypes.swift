import Foundation
import HTTPServer

/// `POST /generate_story` body: `{"Prompt": string, "Audience": string?}`.
///
/// Keys are case-sensitive, as Flask's `request.json` dict was (`"prompt"` is not
/// `"Prompt"`). Unlike Flask the Content-Type is not checked: a JSON body is read as JSON
/// (the old service refused other media types with 415; the frontend always sends
/// application/json). Everything the old service crashed on is a 400 here.
struct LegacyStoryRequest {
    let prompt: String
    /// As sent; the model's presets decide (lower-cased; anything else means their fallback).
    let audience: String?
    /// An optional model name (an extension; jobs use it).
    let model: String?

    static func parse(_ body: [UInt8]) throws -> LegacyStoryRequest {
        let object = try LegacyJSON.object(body)
        let prompt = object["Prompt"]
        if prompt == nil || prompt is NSNull || (prompt as? String)?.isEmpty == true {
            throw HTTPError(.badRequest, "No prompt provided", code: "no_prompt")
        }
        guard let text = prompt as? String else {
            throw HTTPError(.badRequest, "Prompt must be a string", code: "invalid_value")
        }
        var audience: String?
        if let value = object["Audience"] {
            guard let string = value as? String else {
                throw HTTPError(
                    .badRequest, "Audience must be a string: children, young or adult", code: "invalid_value")
            }
            audience = string
        }
        return LegacyStoryRequest(
            prompt: text, audience: audience, model: try LegacyJSON.optionalString(object, "model"))
    }
}

/// `POST /translate` body: `{"Text": string, "Tgt_lang": code, "Src_lang"?: code}`.
struct LegacyTranslateRequest {
    let text: String
    let target: String
    let source: String

    static func parse(_ body: [UInt8]) throws -> LegacyTranslateRequest {
        let object = try LegacyJSON.object(body)
        let text = object["Text"]
        if text == nil || text is NSNull || (text as? String)?.isEmpty == true {
            throw HTTPError(.badRequest, "No text provided", code: "no_text")
        }
        guard let text = text as? String else {
            throw HTTPError(.badRequest, "Text must be a string", code: "invalid_value")
        }
        guard let target = try LegacyJSON.optionalString(object, "Tgt_lang"), !target.isEmpty else {
            throw HTTPError(.badRequest, "No target language provided (Tgt_lang)", code: "no_target_language")
        }
        let source = try LegacyJSON.optionalString(object, "Src_lang") ?? "eng_Latn"
        return LegacyTranslateRequest(text: text, target: target, source: source.isEmpty ? "eng_Latn" : source)
    }
}

/// `{"Status": true, "Content": "..."}` — the story services' success reply.
struct LegacyStoryResponse: Encodable {
    let Status = true
    let Content: String
}

/// `{"Content": "...", "Status": true}` — the translator's success reply.
struct LegacyTranslateResponse: Encodable {
    let Content: String
    let Status = true
}

enum LegacyJSON {
    /// The body as a JSON object; anything else is a 400 (the legacy renderers give it the route's shape).
    static func object(_ body: [UInt8]) throws -> [String: Any] {
        guard !body.isEmpty,
            let value = try? JSONSerialization.jsonObject(with: Data(body), options: [.fragmentsAllowed])
        else {
            throw HTTPError(.badRequest, "The request body must be JSON", code: "invalid_json")
        }
        guard let object = value as? [String: Any] else {
            throw HTTPError(.badRequest, "The request body must be a JSON object", code: "invalid_json")
        }
        return object
    }

    static func optionalString(_ object: [String: Any], _ key: String) throws -> String? {
        guard let value = object[key], !(value is NSNull) else { return nil }
        guard let string = value as? String else {
            throw HTTPError(.badRequest, "\(key) must be a string", code: "invalid_value")
        }
        return string
    }

    static func encode<T: Encodable>(_ value: T) throws -> HTTPResponse {
        .json(bytes: try APIJSON.encode(value))
    }
}
