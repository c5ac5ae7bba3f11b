import Foundation
import XCTest

@testable import Tokenizer

/// Paths of the committed fixtures and tokenizers loaded once for the whole suite
/// (loading the real GPT-2 files takes about half a second in a debug build).
enum Fixtures {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures")
    static let gpt2Directory = root.appendingPathComponent("Tokenizer/gpt2")
    static let corpusDirectory = root.appendingPathComponent("Tokenizer/corpus")
    static let smallDirectory = root.appendingPathComponent("Tokenizer/bpe-small")

    static let gpt2FromVocabAndMerges: ByteLevelBPETokenizer = {
        try! ByteLevelBPETokenizer(
            vocabularyURL: gpt2Directory.appendingPathComponent("vocab.json"),
            mergesURL: gpt2Directory.appendingPathComponent("merges.txt"))
    }()

    static let gpt2FromTokenizerJSON: ByteLevelBPETokenizer = {
        try! ByteLevelBPETokenizer(tokenizerJSONURL: gpt2Directory.appendingPathComponent("tokenizer.json"))
    }()

    /// The corpus as raw bytes, and its lines split on "\n" only.
    static let corpusBytes: [UInt8] = [UInt8](
        try! Data(contentsOf: corpusDirectory.appendingPathComponent("hard-corpus.txt")))
    static let corpusText = String(decoding: corpusBytes, as: UTF8.self)
    static let corpusLines: [String] = corpusBytes.split(
        separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false
    )
    .map { String(decoding: $0, as: UTF8.self) }

    static let gpt2Expected: [String: Any] = json(corpusDirectory.appendingPathComponent("gpt2-expected.json"))
    static let smallExpected: [String: Any] = json(smallDirectory.appendingPathComponent("expected.json"))

    /// Parsed with the tokenizer's own JSON parser: Foundation's drops a leading U+FEFF
    /// from strings, and some expected decodes start with one.
    static func json(_ url: URL) -> [String: Any] {
        let value = try! JSONParser.parse([UInt8](Data(contentsOf: url)))
        return foundationValue(value) as! [String: Any]
    }

    private static func foundationValue(_ value: JSONValue) -> Any {
        switch value {
        case .null: return NSNull()
        case .bool(let b): return b
        case .integer(let i): return i
        case .double(let d): return d
        case .string(let s): return s
        case .array(let a): return a.map(foundationValue)
        case .object(let o):
            var dictionary: [String: Any] = [:]
            for member in o.members { dictionary[member.key] = foundationValue(member.value) }
            return dictionary
        }
    }

    static func temporaryDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent(
            "octavo-tokenizer-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }
}

/// Strings equal scalar by scalar (Swift's `==` would accept canonically equivalent text).
func XCTAssertSameScalars(
    _ actual: String, _ expected: String, _ message: @autoclosure () -> String = "",
    file: StaticString = #filePath, line: UInt = #line
) {
    if !actual.unicodeScalars.elementsEqual(expected.unicodeScalars) {
        XCTFail(
            "\(actual.debugDescription) is not scalar-equal to \(expected.debugDescription). \(message())", file: file,
            line: line)
    }
}

func ints(_ value: Any?) -> [Int] {
    (value as! [Any]).map { $0 as! Int }
}
