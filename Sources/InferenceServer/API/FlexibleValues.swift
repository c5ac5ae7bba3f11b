import HTTPServer

/// OpenAI's `prompt`: a string, an array of strings, an array of token ids, or an array
/// of arrays of token ids.
enum PromptInput: Decodable, Equatable {
    case texts([String])
    case tokenLists([[Int]])

    init(from decoder: Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let text = try? container.decode(String.self) {
            self = .texts([text])
        } else if let texts = try? container.decode([String].self) {
            self = .texts(texts)
        } else if let ids = try? container.decode([Int].self) {
            self = .tokenLists([ids])
        } else if let lists = try? container.decode([[Int]].self) {
            self = .tokenLists(lists)
        } else {
            throw DecodingError.typeMismatch(
                String.self,
                DecodingError.Context(
                    codingPath: decoder.codingPath,
                    debugDescription: "expected a string, an array of strings, or token ids"))
        }
    }

    var count: Int {
        switch self {
        case .texts(let texts): return texts.count
        case .tokenLists(let lists): return lists.count
        }
    }
}

/// `stop`: a string or an array of strings.
struct StopInput: Decodable, Equatable {
    var strings: [String]

    init(strings: [String]) {
        self.strings = strings
    }

    init(from decoder: Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let text = try? container.decode(String.self) {
            strings = [text]
        } else {
            strings = try container.decode([String].self)
        }
    }
}
