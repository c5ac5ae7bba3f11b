import Foundation
import HTTPServer

/// `POST /v1/completions` body (OpenAI's legacy completions API). Unknown fields are ignored.
/// `top_k`, `min_p` and `repetition_penalty` are extensions (as in vLLM), sent by the
/// official client through `extra_body`.
struct CompletionRequest: Decodable {
    var model: String?
    var prompt: PromptInput?
    var maxTokens: Int?
    var temperature: Double?
    var topP: Double?
    var n: Int?
    var stream: Bool?
    var streamOptions: StreamOptions?
    var logprobs: Int?
    var echo: Bool?
    var stop: StopInput?
    var presencePenalty: Double?
    var frequencyPenalty: Double?
    var seed: Int64?
    var bestOf: Int?
    var logitBias: [String: Double]?
    var suffix: String?
    var user: String?
    var topK: Int?
    var minP: Double?
    var repetitionPenalty: Double?

    struct StreamOptions: Decodable {
        var includeUsage: Bool?
    }
}

/// A completion, or one streamed chunk of one (then `usage` is absent and `object` the same).
struct CompletionResponse: Encodable {
    let id: String
    let object = "text_completion"
    let created: Int
    let model: String
    let choices: [CompletionChoice]
    let usage: CompletionUsage?
    let system_fingerprint: String? = nil

    enum CodingKeys: String, CodingKey {
        case id, object, created, model, choices, usage, system_fingerprint
    }

    func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(id, forKey: .id)
        try c.encode(object, forKey: .object)
        try c.encode(created, forKey: .created)
        try c.encode(model, forKey: .model)
        try c.encode(choices, forKey: .choices)
        try c.encodeIfPresent(usage, forKey: .usage)
    }
}

struct CompletionChoice: Encodable {
    let text: String
    let index: Int
    let logprobs: CompletionLogprobs?
    /// "stop" (EOS or a stop string), "length", or null while streaming.
    let finish_reason: String?

    enum CodingKeys: String, CodingKey { case text, index, logprobs, finish_reason }

    /// OpenAI sends `logprobs` and `finish_reason` as explicit nulls; clients expect the keys.
    func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(text, forKey: .text)
        try c.encode(index, forKey: .index)
        if let logprobs { try c.encode(logprobs, forKey: .logprobs) } else { try c.encodeNil(forKey: .logprobs) }
        if let finish_reason {
            try c.encode(finish_reason, forKey: .finish_reason)
        } else {
            try c.encodeNil(forKey: .finish_reason)
        }
    }
}

struct CompletionLogprobs: Encodable {
    var tokens: [String] = []
    var token_logprobs: [Float] = []
    var top_logprobs: [[String: Float]]?
    var text_offset: [Int] = []
}

struct CompletionUsage: Encodable {
    let prompt_tokens: Int
    let completion_tokens: Int
    let total_tokens: Int
}

/// `GET /v1/models`.
struct ModelList: Encodable {
    let object = "list"
    let data: [ModelCard]
}

struct ModelCard: Encodable {
    let id: String
    let object = "model"
    let created: Int
    let owned_by = "octavo-infer"
    /// generation or translation (an extension: OpenAI's cards have no kind).
    let kind: String
}
