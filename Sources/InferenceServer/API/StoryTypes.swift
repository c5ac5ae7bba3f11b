import Foundation
import HTTPServer

/// `POST /v1/stories` body (also the `story` job type's, lower-case keys).
///
/// Give `prompt`, or the structured fields (`genre`, `protagonists`, optional `gender`) from
/// which the platform's medium-model prompt is built.
struct StoryRequestBody: Decodable {
    var prompt: String?
    var genre: String?
    var protagonists: String?
    var gender: String?
    var audience: String?
    /// FLORES-200 code; eng_Latn (the default) means no translation.
    var language: String?
    var model: String?
    var translator: String?
    var seed: UInt64?
    var maxLength: Int?
    var maxNewTokens: Int?
    var stream: Bool?
}

/// One paragraph in the reply and in each `paragraph` event.
struct StoryParagraphJSON: Encodable {
    let index: Int
    let text: String
    /// The paragraph in the target language (null when no translation was asked for).
    let translation: String?

    enum CodingKeys: String, CodingKey { case index, text, translation }

    func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(index, forKey: .index)
        try c.encode(text, forKey: .text)
        try c.encode(translation, forKey: .translation)  // null, not absent
    }
}

struct StoryTimings: Encodable {
    /// Submission to the last token.
    let generation_ms: Double
    /// Summed over paragraphs; overlaps the generation.
    let translation_ms: Double
    /// Request to reply.
    let total_ms: Double
}

/// The reply of `POST /v1/stories` and the `done` event.
struct StoryResponse: Encodable {
    let model: String
    let translator: String?
    let language: String
    let audience: String
    let paragraphs: [StoryParagraphJSON]
    /// The story in the old services' shape (`[Content]: ` before each paragraph), in `language`.
    let content: String
    /// The same in English, as the model wrote it.
    let original_content: String
    let finish_reason: String
    let seed: UInt64
    let usage: CompletionUsage
    let timings: StoryTimings

    enum CodingKeys: String, CodingKey {
        case model, translator, language, audience, paragraphs, content, original_content, finish_reason, seed, usage,
            timings
    }

    func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(model, forKey: .model)
        try c.encode(translator, forKey: .translator)  // null without translation
        try c.encode(language, forKey: .language)
        try c.encode(audience, forKey: .audience)
        try c.encode(paragraphs, forKey: .paragraphs)
        try c.encode(content, forKey: .content)
        try c.encode(original_content, forKey: .original_content)
        try c.encode(finish_reason, forKey: .finish_reason)
        try c.encode(seed, forKey: .seed)
        try c.encode(usage, forKey: .usage)
        try c.encode(timings, forKey: .timings)
    }
}
