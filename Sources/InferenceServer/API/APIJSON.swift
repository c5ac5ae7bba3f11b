import Foundation
import HTTPServer

/// JSON coding for the OpenAI-compatible and native APIs (snake_case on the wire), and
/// request decoding whose errors name the offending field.
enum APIJSON {
    static func makeDecoder() -> JSONDecoder {
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        return decoder
    }

    /// Response types spell their keys as on the wire: a key strategy would also rewrite
    /// dictionary keys (token strings in `top_logprobs`). Keys are sorted, so a reply is
    /// byte-for-byte the same every time (the old services' replies were sorted too).
    static func makeEncoder() -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }

    /// The body of `request` as `T`; any problem is a 400 naming the field.
    static func decode<T: Decodable>(_ type: T.Type, from request: HTTPRequest) throws -> T {
        guard !request.body.isEmpty else {
            throw HTTPError(.badRequest, "The request body is empty: send a JSON object.", code: "invalid_json")
        }
        return try decode(type, from: Data(request.body))
    }

    static func decode<T: Decodable>(_ type: T.Type, from data: Data) throws -> T {
        guard String(data: data, encoding: .utf8) != nil else {
            throw HTTPError(.badRequest, "The request body is not valid UTF-8.", code: "invalid_json")
        }
        do {
            return try makeDecoder().decode(type, from: data)
        } catch let error as HTTPError {
            throw error
        } catch let error as DecodingError {
            if case .dataCorrupted(let context) = error, context.codingPath.isEmpty, let key = culprit(type, in: data) {
                // Foundation reports a number that does not fit its field (1.5 or 1e30 for an
                // integer) as invalid JSON without a path: find the field by leaving each out.
                throw HTTPError(
                    .badRequest,
                    "Invalid '\(key)': the value does not fit this field (wrong kind of "
                        + "number, or out of range).",
                    code: "invalid_value")
            }
            throw HTTPError(.badRequest, describe(error), code: "invalid_request")
        } catch {
            throw HTTPError(.badRequest, "The request body is not valid JSON.", code: "invalid_json")
        }
    }

    /// The top-level field without which `data` decodes, if there is one.
    private static func culprit<T: Decodable>(_ type: T.Type, in data: Data) -> String? {
        guard let object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any], object.count <= 64 else {
            return nil
        }
        for key in object.keys.sorted() {
            var rest = object
            rest.removeValue(forKey: key)
            if let trimmed = try? JSONSerialization.data(withJSONObject: rest),
                (try? makeDecoder().decode(type, from: trimmed)) != nil
            {
                return key
            }
        }
        return nil
    }

    static func encode<T: Encodable>(_ value: T) throws -> [UInt8] {
        Array(try makeEncoder().encode(value))
    }

    static func encodeString<T: Encodable>(_ value: T) -> String {
        (try? makeEncoder().encode(value)).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
    }

    /// A message naming the field in its wire spelling (`max_tokens`, `stop[2]`).
    static func describe(_ error: DecodingError) -> String {
        switch error {
        case .keyNotFound(let key, let context):
            return "Missing required field '\(path(context.codingPath + [key]))'."
        case .valueNotFound(_, let context):
            return "Field '\(path(context.codingPath))' must not be null."
        case .typeMismatch(let type, let context):
            return "Invalid '\(path(context.codingPath))': expected \(describe(type))."
        case .dataCorrupted(let context):
            if context.codingPath.isEmpty { return "The request body is not valid JSON (or not a JSON object)." }
            return "Invalid '\(path(context.codingPath))': \(context.debugDescription)"
        @unknown default:
            return "The request body is not valid JSON."
        }
    }

    static func path(_ keys: [CodingKey]) -> String {
        var out = ""
        for key in keys {
            if let index = key.intValue {
                out += "[\(index)]"
            } else {
                out += (out.isEmpty ? "" : ".") + snakeCase(key.stringValue)
            }
        }
        return out.isEmpty ? "body" : out
    }

    static func snakeCase(_ name: String) -> String {
        var out = ""
        for character in name {
            if character.isUppercase {
                out += "_" + character.lowercased()
            } else {
                out.append(character)
            }
        }
        return out
    }

    private static func describe(_ type: Any.Type) -> String {
        switch type {
        case is String.Type: return "a string"
        case is Int.Type, is Int64.Type, is UInt64.Type: return "an integer"
        case is Double.Type, is Float.Type: return "a number"
        case is Bool.Type: return "true or false"
        case is [Any].Type: return "an array"
        default:
            let name = String(describing: type)
            if name.hasPrefix("Array") { return "an array" }
            if name.hasPrefix("Dictionary") { return "an object" }
            return "a value of another type"
        }
    }
}
