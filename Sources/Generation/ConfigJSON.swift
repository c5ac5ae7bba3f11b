import Foundation
import Tokenizer

/// A model's `config.json`, read with the meaning transformers gives it: Python's `json` (the
/// last of two equal keys wins), `true`/`false` are the integers 1 and 0, flags count for their
/// truthiness, and a size must be an integer (torch refuses a float where a size goes).
///
/// Values transformers would take but we deliberately do not (a token id that is a list or a
/// fraction, a size past 2^30, a non-number epsilon) are `Fault`s with `deliberate` set, which
/// the model readers report as unsupported rather than malformed.
public struct ConfigJSON {
    public struct Fault: Error, Sendable {
        public let key: String
        /// The value as written, briefly ("a string", "512.5"), or "" for a missing key.
        public let value: String
        public let reason: String
        /// The value is one transformers accepts but Octavo Infer deliberately does not.
        public let deliberate: Bool

        public init(key: String, value: String = "", reason: String, deliberate: Bool) {
            self.key = key
            self.value = value
            self.reason = reason
            self.deliberate = deliberate
        }
    }

    /// Sizes above this are refused on purpose (no real GPT-2 or M2M100 comes near it).
    public static let largestSize = 1 << 30

    public let path: String
    private let object: JSONObject

    /// Parses the file; a file that is not a JSON object is a `Fault` keyed "(file)".
    public init(contentsOf url: URL) throws {
        try self.init(data: Data(contentsOf: url), path: url.path)
    }

    public init(data: Data, path: String) throws {
        self.path = path
        let bytes = [UInt8](data)
        let value: JSONValue
        do {
            value = try JSONParser.parse(bytes)
        } catch let error as JSONParseError {
            throw Fault(
                key: "(file)", reason: "not valid JSON at byte \(error.offset): \(error.reason)", deliberate: false)
        }
        guard case .object(let object) = value else {
            throw Fault(key: "(file)", reason: "the top level is \(value.kindName), not an object", deliberate: false)
        }
        self.object = object
    }

    public func contains(_ key: String) -> Bool { object[key] != nil }

    /// The raw value (nil when absent), for rules the typed accessors do not cover.
    public subscript(key: String) -> JSONValue? { object[key] }

    /// A string, nil when absent; null or another kind is a fault.
    public func string(_ key: String) throws -> String? {
        switch object[key] {
        case nil: return nil
        case .string(let text)?: return text
        case let other?: throw Fault(key: key, reason: "should be a string, found \(other.kindName)", deliberate: false)
        }
    }

    /// An integer size; `fallback` when absent, a fault when absent without one, null,
    /// fractional or of another kind. A boolean is 0 or 1 only for a `count` (of layers or
    /// heads, which Python just loops over or divides by); torch refuses one as a dimension.
    public func size(_ key: String, default fallback: Int?, count: Bool = false) throws -> Int {
        guard let value = object[key] else {
            guard let fallback else { throw Fault(key: key, reason: "is missing", deliberate: false) }
            return fallback
        }
        if case .bool = value, !count {
            throw Fault(key: key, reason: "should be an integer, found a boolean", deliberate: false)
        }
        guard let size = try optionalSize(key, value) else {
            throw Fault(key: key, reason: "should be an integer, found null", deliberate: false)
        }
        return size
    }

    /// An integer dimension, nil when absent or null.
    public func optionalSize(_ key: String) throws -> Int? {
        guard let value = object[key] else { return nil }
        if case .bool = value {
            throw Fault(key: key, reason: "should be an integer, found a boolean", deliberate: false)
        }
        return try optionalSize(key, value)
    }

    private func optionalSize(_ key: String, _ value: JSONValue) throws -> Int? {
        switch value {
        case .null: return nil
        case .bool(let flag): return flag ? 1 : 0
        case .integer(let number):
            guard number <= Self.largestSize else {
                throw Fault(
                    key: key, value: "\(number)",
                    reason: "past \(Self.largestSize), which is deliberately not supported", deliberate: true)
            }
            return number
        default: throw Fault(key: key, reason: "should be an integer, found \(describe(value))", deliberate: false)
        }
    }

    /// A token id: an integer (or boolean), nil when null; `fallback` when absent. A list of
    /// ids or a fraction loads in transformers but is deliberately not supported here.
    public func tokenID(_ key: String, default fallback: Int?) throws -> Int? {
        switch object[key] {
        case nil: return fallback
        case .null?: return nil
        case .bool(let flag)?: return flag ? 1 : 0
        case .integer(let number)?: return number
        case let other?:
            throw Fault(
                key: key, value: describe(other), reason: "only a single integer id is deliberately supported",
                deliberate: true)
        }
    }

    /// A flag read for its truthiness, as transformers tests it (`if config.flag:`).
    public func flag(_ key: String, default fallback: Bool) -> Bool {
        switch object[key] {
        case nil: return fallback
        case .null?: return false
        case .bool(let value)?: return value
        case .integer(let value)?: return value != 0
        case .double(let value)?: return value != 0
        case .string(let value)?: return !value.isEmpty
        case .array(let value)?: return !value.isEmpty
        case .object(let value)?: return !value.members.isEmpty
        }
    }

    /// A number; `fallback` when absent. Anything else builds in transformers (a layer norm
    /// keeps whatever eps it is given) and is deliberately refused here.
    public func number(_ key: String, default fallback: Double) throws -> Double {
        switch object[key] {
        case nil: return fallback
        case .integer(let number)?: return Double(number)
        case .double(let number)?: return number
        case .bool(let flag)?: return flag ? 1 : 0
        case let other?:
            throw Fault(
                key: key, value: describe(other), reason: "not a number, which is deliberately not supported",
                deliberate: true)
        }
    }

    private func describe(_ value: JSONValue) -> String {
        if case .double(let number) = value { return "\(number)" }
        return value.kindName
    }
}
