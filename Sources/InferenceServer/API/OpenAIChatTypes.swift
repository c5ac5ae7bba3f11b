import Foundation
import HTTPServer

/// `POST /v1/chat/completions` body (OpenAI's chat completions API). Unknown fields are
/// ignored; `top_k`, `min_p` and `repetition_penalty` are the same extensions as on
/// `/v1/completions`.
struct ChatCompletionRequest: Decodable {
    var model: String?
    var messages: [ChatRequestMessage]
    var maxTokens: Int?
    var maxCompletionTokens: Int?
    var temperature: Double?
    var topP: Double?
    var n: Int?
    var stream: Bool?
    var streamOptions: CompletionRequest.StreamOptions?
    var logprobs: Bool?
    var topLogprobs: Int?
    var stop: StopInput?
    var presencePenalty: Double?
    var frequencyPenalty: Double?
    var seed: Int64?
    var logitBias: [String: Double]?
    var user: String?
    var tools: [FlexibleJSON]?
    var responseFormat: ResponseFormat?
    var topK: Int?
    var minP: Double?
    var repetitionPenalty: Double?

    struct ResponseFormat: Decodable {
        var type: String
    }
}

/// Any JSON value, kept only to say it is not supported (`tools`).
struct FlexibleJSON: Decodable {
    init(from decoder: Decoder) throws {}
}

/// One message: `content` is a string or an array of parts, of which only `text` parts
/// are supported (images and audio are refused by the handler, naming the part).
struct ChatRequestMessage: Decodable {
    var role: String
    var content: Content?
    var name: String?

    enum Content: Decodable {
        case text(String)
        case parts([Part])

        init(from decoder: Decoder) throws {
            let container = try decoder.singleValueContainer()
            if let text = try? container.decode(String.self) {
                self = .text(text)
            } else if let parts = try? container.decode([Part].self) {
                self = .parts(parts)
            } else {
                throw DecodingError.typeMismatch(
                    String.self,
                    DecodingError.Context(
                        codingPath: decoder.codingPath,
                        debugDescription: "expected a string or an array of content "
                            + "parts"))
            }
        }
    }

    struct Part: Decodable {
        var type: String
        var text: String?
    }
}

/// A chat completion, or one streamed chunk of one.
struct ChatCompletionResponse: Encodable {
    let id: String
    /// `chat.completion`, or `chat.completion.chunk` when streaming.
    let object: String
    let created: Int
    let model: String
    let choices: [ChatChoice]
    let usage: CompletionUsage?

    enum CodingKeys: String, CodingKey { case id, object, created, model, choices, usage, system_fingerprint }

    func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(id, forKey: .id)
        try c.encode(object, forKey: .object)
        try c.encode(created, forKey: .created)
        try c.encode(model, forKey: .model)
        try c.encode(choices, forKey: .choices)
        try c.encodeNil(forKey: .system_fingerprint)
        try c.encodeIfPresent(usage, forKey: .usage)
    }
}

/// A choice: `message` in a completion, `delta` in a chunk.
struct ChatChoice: Encodable {
    let index: Int
    var message: ChatMessageBody?
    var delta: ChatMessageBody?
    var logprobs: ChatLogprobs?
    /// "stop", "length", or null while streaming.
    var finish_reason: String?

    enum CodingKeys: String, CodingKey { case index, message, delta, logprobs, finish_reason }

    func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(index, forKey: .index)
        try c.encodeIfPresent(message, forKey: .message)
        try c.encodeIfPresent(delta, forKey: .delta)
        if let logprobs { try c.encode(logprobs, forKey: .logprobs) } else { try c.encodeNil(forKey: .logprobs) }
        if let finish_reason {
            try c.encode(finish_reason, forKey: .finish_reason)
        } else {
            try c.encodeNil(forKey: .finish_reason)
        }
    }
}

/// `message` (role and content always present) or `delta` (only what this chunk adds).
struct ChatMessageBody: Encodable {
    var role: String?
    var content: String?
    /// Present, as null, in a full message: the clients expect the key.
    var isDelta: Bool

    enum CodingKeys: String, CodingKey { case role, content, refusal }

    func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encodeIfPresent(role, forKey: .role)
        try c.encodeIfPresent(content, forKey: .content)
        if !isDelta { try c.encodeNil(forKey: .refusal) }
    }
}

/// Chat's `logprobs`: one entry per generated token.
struct ChatLogprobs: Encodable {
    var content: [ChatTokenLogprob] = []

    enum CodingKeys: String, CodingKey { case content, refusal }

    func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(content, forKey: .content)
        try c.encodeNil(forKey: .refusal)
    }
}

struct ChatTokenLogprob: Encodable {
    let token: String
    let logprob: Float
    let bytes: [UInt8]
    let top_logprobs: [Alternative]

    struct Alternative: Encodable {
        let token: String
        let logprob: Float
        let bytes: [UInt8]
    }
}
