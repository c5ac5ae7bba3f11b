import Foundation
import HTTPServer

/// `POST /v1/generate` body: every option of `octavo-infer generate`, same meaning.
struct GenerateRequestBody: Decodable {
    var model: String?
    var prompt: String?
    /// Token ids instead of `prompt`.
    var promptIds: [Int]?
    var maxNewTokens: Int?
    var maxLength: Int?
    var greedy: Bool?
    var sample: Bool?
    var temperature: Double?
    var topK: Int?
    var topP: Double?
    var minP: Double?
    var repetitionPenalty: Double?
    var presencePenalty: Double?
    var frequencyPenalty: Double?
    var noRepeatNgramSize: Int?
    var seed: UInt64?
    var stop: StopInput?
    var ignoreEos: Bool?
    var stream: Bool?
}

/// The reply of `POST /v1/generate` (and the `done` event when streaming).
struct GenerateResponse: Encodable {
    let model: String
    let text: String
    let prompt_ids: [Int]
    let generated_ids: [Int]
    /// eos, length, stop or cancelled.
    let finish_reason: String
    let stop: String?
    let seed: UInt64
    let usage: CompletionUsage
    let timings: RequestTimings

    enum CodingKeys: String, CodingKey {
        case model, text, prompt_ids, generated_ids, finish_reason, stop, seed, usage, timings
    }

    func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(model, forKey: .model)
        try c.encode(text, forKey: .text)
        try c.encode(prompt_ids, forKey: .prompt_ids)
        try c.encode(generated_ids, forKey: .generated_ids)
        try c.encode(finish_reason, forKey: .finish_reason)
        if let stop { try c.encode(stop, forKey: .stop) } else { try c.encodeNil(forKey: .stop) }
        try c.encode(seed, forKey: .seed)
        try c.encode(usage, forKey: .usage)
        try c.encode(timings, forKey: .timings)
    }
}

/// A streamed token of `POST /v1/generate` (`event: token`).
struct GenerateTokenEvent: Encodable {
    let id: Int
    let text: String
}

/// `POST /v1/translate` body: `text` or `texts`, `target` required, `source` eng_Latn by default.
struct TranslateRequestBody: Decodable {
    var model: String?
    var text: String?
    var texts: [String]?
    var source: String?
    var target: String?
    var beams: Int?
    var maxTokens: Int?
    var stream: Bool?
}

struct TranslateResponse: Encodable {
    let model: String
    let source: String
    let target: String
    let translations: [String]
}

/// A streamed translation of `POST /v1/translate` (`event: translation`).
struct TranslationEvent: Encodable {
    let index: Int
    let text: String
}

struct LanguagesResponse: Encodable {
    let model: String
    /// FLORES-200 codes, in the model's order.
    let languages: [String]
    /// English name of each code (`eng_Latn`: English); codes FLORES-200 does not name are left out.
    let names: [String: String]
}

struct TokenizeRequestBody: Decodable {
    var model: String?
    var text: String
}

struct TokenizeResponse: Encodable {
    let model: String
    let ids: [Int]
    let count: Int
}

struct DetokenizeRequestBody: Decodable {
    var model: String?
    var ids: [Int]
    var skipSpecialTokens: Bool?
}

struct DetokenizeResponse: Encodable {
    let model: String
    let text: String
}
