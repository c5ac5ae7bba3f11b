import Foundation
import XCTest

@testable import Tokenizer

/// Every way a tokenizer file can be wrong gives a typed error naming the file; none crashes.
final class TokenizerErrorTests: XCTestCase {
    private var directory: URL!

    override func setUpWithError() throws {
        directory = try Fixtures.temporaryDirectory()
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: directory)
    }

    private func write(_ name: String, _ text: String) -> URL {
        let url = directory.appendingPathComponent(name)
        try! Data(text.utf8).write(to: url)
        return url
    }

    private func expectError(
        _ expected: (TokenizerError) -> Bool, mentioning fragment: String? = nil,
        file: StaticString = #filePath, line: UInt = #line, _ body: () throws -> Any
    ) {
        do {
            _ = try body()
            XCTFail("no error thrown", file: file, line: line)
        } catch let error as TokenizerError {
            XCTAssertTrue(expected(error), "unexpected error: \(error)", file: file, line: line)
            if let fragment {
                XCTAssertTrue(
                    error.description.contains(fragment), "\(error.description) does not mention \(fragment)",
                    file: file, line: line)
            }
        } catch {
            XCTFail("not a TokenizerError: \(error)", file: file, line: line)
        }
    }

    /// A minimal valid tokenizer.json with one field replaced.
    private func tokenizerJSON(
        model: String? = nil, normalizer: String = "null",
        preTokenizer: String = #"{"type":"ByteLevel","add_prefix_space":false,"trim_offsets":true,"use_regex":true}"#,
        decoder: String = #"{"type":"ByteLevel","add_prefix_space":true,"trim_offsets":true,"use_regex":true}"#,
        addedTokens: String = "[]"
    ) -> String {
        let defaultModel =
            #"{"type":"BPE","dropout":null,"unk_token":null,"vocab":{"a":0,"b":1,"ab":2},"merges":["a b"]}"#
        return
            #"{"version":"1.0","added_tokens":\#(addedTokens),"normalizer":\#(normalizer),"pre_tokenizer":\#(preTokenizer),"#
            + #""post_processor":null,"decoder":\#(decoder),"model":\#(model ?? defaultModel)}"#
    }

    func testMinimalTokenizerJSONLoads() throws {
        let tokenizer = try ByteLevelBPETokenizer(tokenizerJSONURL: write("tokenizer.json", tokenizerJSON()))
        XCTAssertEqual(tokenizer.encode("abab"), [2, 2])
    }

    func testMissingFiles() {
        let nowhere = directory.appendingPathComponent("nope.json")
        expectError(
            {
                if case .missingFile = $0 { return true }
                return false
            }, mentioning: nowhere.path
        ) {
            try ByteLevelBPETokenizer(tokenizerJSONURL: nowhere)
        }
        let vocabulary = write("vocab.json", #"{"a":0}"#)
        expectError(
            {
                if case .missingFile = $0 { return true }
                return false
            }, mentioning: "merges.txt"
        ) {
            try ByteLevelBPETokenizer(
                vocabularyURL: vocabulary, mergesURL: self.directory.appendingPathComponent("merges.txt"))
        }
        expectError({
            if case .missingFile = $0 { return true }
            return false
        }) {
            try ByteLevelBPETokenizer.load(directory: self.directory.appendingPathComponent("no-such-folder"))
        }
    }

    func testFolderWithoutTokenizerFiles() throws {
        let empty = directory.appendingPathComponent("empty")
        try FileManager.default.createDirectory(at: empty, withIntermediateDirectories: true)
        expectError(
            {
                if case .noTokenizerFiles = $0 { return true }
                return false
            }, mentioning: "tokenizer.json"
        ) {
            try ByteLevelBPETokenizer.load(directory: empty)
        }
        // vocab.json alone: merges.txt is reported missing.
        try Data(#"{"a":0}"#.utf8).write(to: empty.appendingPathComponent("vocab.json"))
        expectError(
            {
                if case .missingFile = $0 { return true }
                return false
            }, mentioning: "merges.txt"
        ) {
            try ByteLevelBPETokenizer.load(directory: empty)
        }
    }

    func testDirectoryInsteadOfFile() throws {
        let folder = directory.appendingPathComponent("tokenizer.json")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        expectError(
            {
                if case .unreadableFile = $0 { return true }
                return false
            }, mentioning: folder.path
        ) {
            try ByteLevelBPETokenizer(tokenizerJSONURL: folder)
        }
    }

    func testMalformedJSON() {
        let cases: [(String, String)] = [
            ("truncated", String(tokenizerJSON().dropLast(20))),
            ("empty", ""),
            ("lfs-pointer", "version https://git-lfs.github.com/spec/v1\noid sha256:abc\nsize 123\n"),
            ("html", "<!DOCTYPE html><html></html>"),
            ("trailing-comma", #"{"a":0,}"#),
            ("lone-surrogate", #"{"\ud800":0}"#),
            ("bad-escape", #"{"\q":0}"#),
            ("control-char", "{\"a\u{01}\":0}"),
            ("deep", String(repeating: "[", count: 100_000)),
        ]
        for (name, text) in cases {
            let url = write("\(name).json", text)
            expectError(
                {
                    if case .malformedJSON = $0 { return true }
                    return false
                }, mentioning: url.path
            ) {
                try ByteLevelBPETokenizer(tokenizerJSONURL: url)
            }
        }
        // Bytes that are not UTF-8 at all.
        let url = directory.appendingPathComponent("latin1.json")
        try! Data([0x7B, 0x22, 0xE9, 0x22, 0x3A, 0x30, 0x7D]).write(to: url)
        expectError({
            if case .malformedJSON = $0 { return true }
            return false
        }) {
            try ByteLevelBPETokenizer(vocabularyURL: url, mergesURL: url)
        }
    }

    func testUnsupportedComponents() {
        let cases: [(String, String, String)] = [
            ("normalizer", tokenizerJSON(normalizer: #"{"type":"NFC"}"#), "NFC"),
            ("sequence", tokenizerJSON(preTokenizer: #"{"type":"Sequence","pretokenizers":[]}"#), "Sequence"),
            ("metaspace", tokenizerJSON(preTokenizer: #"{"type":"Metaspace"}"#), "Metaspace"),
            ("no-pre-tokenizer", tokenizerJSON(preTokenizer: "null"), "pre-tokenizer"),
            ("decoder", tokenizerJSON(decoder: #"{"type":"WordPiece"}"#), "WordPiece"),
            ("wordpiece", tokenizerJSON(model: #"{"type":"WordPiece","vocab":{"a":0}}"#), "WordPiece"),
            ("dropout", tokenizerJSON(model: #"{"type":"BPE","dropout":0.1,"vocab":{"a":0},"merges":[]}"#), "dropout"),
            (
                "suffix",
                tokenizerJSON(model: #"{"type":"BPE","end_of_word_suffix":"</w>","vocab":{"a":0},"merges":[]}"#),
                "end_of_word_suffix"
            ),
            (
                "byte-fallback",
                tokenizerJSON(model: #"{"type":"BPE","byte_fallback":true,"vocab":{"a":0},"merges":[]}"#),
                "byte_fallback"
            ),
        ]
        for (name, text, fragment) in cases {
            let url = write("\(name).json", text)
            expectError(
                {
                    if case .unsupported = $0 { return true }
                    return false
                }, mentioning: fragment
            ) {
                try ByteLevelBPETokenizer(tokenizerJSONURL: url)
            }
        }
    }

    func testInvalidFields() {
        let cases: [(String, String, String)] = [
            ("top-level", "[1, 2]", "top level"),
            (
                "no-model",
                #"{"normalizer":null,"pre_tokenizer":{"type":"ByteLevel","add_prefix_space":true,"trim_offsets":true,"use_regex":true},"decoder":{"type":"ByteLevel","add_prefix_space":true,"trim_offsets":true,"use_regex":true}}"#,
                "model"
            ),
            ("vocab-array", tokenizerJSON(model: #"{"type":"BPE","vocab":["a"],"merges":[]}"#), "model.vocab"),
            ("vocab-string-id", tokenizerJSON(model: #"{"type":"BPE","vocab":{"a":"0"},"merges":[]}"#), "model.vocab"),
            ("merges-object", tokenizerJSON(model: #"{"type":"BPE","vocab":{"a":0},"merges":{}}"#), "model.merges"),
            (
                "merge-triple", tokenizerJSON(model: #"{"type":"BPE","vocab":{"a":0},"merges":[["a","a","a"]]}"#),
                "model.merges[0]"
            ),
            ("added-no-content", tokenizerJSON(addedTokens: #"[{"id":3,"special":true}]"#), "added_tokens[0].content"),
            (
                "added-bad-flag", tokenizerJSON(addedTokens: #"[{"id":3,"content":"x","special":"yes"}]"#),
                "added_tokens[0].special"
            ),
            (
                "unk-missing", tokenizerJSON(model: #"{"type":"BPE","unk_token":"<unk>","vocab":{"a":0},"merges":[]}"#),
                "unk_token"
            ),
        ]
        for (name, text, fragment) in cases {
            let url = write("\(name).json", text)
            expectError(
                {
                    if case .invalidField = $0 { return true }
                    return false
                }, mentioning: fragment
            ) {
                try ByteLevelBPETokenizer(tokenizerJSONURL: url)
            }
        }
    }

    func testInvalidVocabulary() {
        let cases: [(String, String)] = [("empty", "{}"), ("negative", #"{"a":-1}"#), ("huge", #"{"a":99999999999}"#)]
        for (name, text) in cases {
            let vocabulary = write("\(name)-vocab.json", text)
            let merges = write("\(name)-merges.txt", "#version: 0.2\n")
            expectError(
                {
                    if case .invalidVocabulary = $0 { return true }
                    return false
                }, mentioning: vocabulary.path
            ) {
                try ByteLevelBPETokenizer(vocabularyURL: vocabulary, mergesURL: merges)
            }
        }
    }

    func testMalformedMergesLines() {
        let vocabulary = write("vocab.json", #"{"a":0,"b":1,"ab":2,"c":3}"#)
        let cases: [(String, Int)] = [
            ("#version: 0.2\na b\nabc\n", 3),  // one token
            ("a b c\n", 1),  // three tokens
            ("a b\n\na b\n", 2),  // empty line in the middle
            ("a  b\n", 1),  // two spaces
            ("a b\n b\n", 2),  // empty first token
        ]
        for (text, badLine) in cases {
            let merges = write("merges.txt", text)
            expectError(
                {
                    if case .malformedMergesLine(_, let line, _) = $0 { return line == badLine }
                    return false
                },
                mentioning: "line \(badLine)"
            ) {
                try ByteLevelBPETokenizer(vocabularyURL: vocabulary, mergesURL: merges)
            }
        }
        // A legacy "a b" string in tokenizer.json is checked the same way.
        let url = write("tokenizer.json", tokenizerJSON(model: #"{"type":"BPE","vocab":{"a":0},"merges":["ab"]}"#))
        expectError({
            if case .malformedMergesLine = $0 { return true }
            return false
        }) {
            try ByteLevelBPETokenizer(tokenizerJSONURL: url)
        }
    }

    func testMergesInconsistentWithVocabulary() {
        let vocabulary = write("vocab.json", #"{"a":0,"b":1,"ab":2,"c":3}"#)
        let cases: [(String, String)] = [
            ("#version: 0.2\na b\nab x\n", "\"x\""),  // right token unknown
            ("#version: 0.2\nx a\n", "\"x\""),  // left token unknown
            ("#version: 0.2\nb c\n", "\"bc\""),  // merged token unknown
        ]
        for (text, token) in cases {
            let merges = write("merges.txt", text)
            expectError(
                {
                    if case .mergeTokenNotInVocabulary = $0 { return true }
                    return false
                }, mentioning: token
            ) {
                try ByteLevelBPETokenizer(vocabularyURL: vocabulary, mergesURL: merges)
            }
        }
        // The real GPT-2 merges against the small vocabulary.
        expectError(
            {
                if case .mergeTokenNotInVocabulary = $0 { return true }
                return false
            }, mentioning: "same model"
        ) {
            try ByteLevelBPETokenizer(
                vocabularyURL: Fixtures.smallDirectory.appendingPathComponent("vocab-merges/vocab.json"),
                mergesURL: Fixtures.gpt2Directory.appendingPathComponent("merges.txt"))
        }
    }

    func testBrokenConfigFilesInAFolder() throws {
        let folder = directory.appendingPathComponent("model")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        for name in ["vocab.json", "merges.txt"] {
            try FileManager.default.copyItem(
                at: Fixtures.smallDirectory.appendingPathComponent("vocab-merges/\(name)"),
                to: folder.appendingPathComponent(name))
        }
        XCTAssertNoThrow(try ByteLevelBPETokenizer.load(directory: folder))
        let config = folder.appendingPathComponent("tokenizer_config.json")
        let cases: [(String, (TokenizerError) -> Bool)] = [
            (
                "{",
                {
                    if case .malformedJSON = $0 { return true }
                    return false
                }
            ),
            (
                "[]",
                {
                    if case .invalidField = $0 { return true }
                    return false
                }
            ),
            (
                #"{"add_prefix_space":"yes"}"#,
                {
                    if case .invalidField = $0 { return true }
                    return false
                }
            ),
            (
                #"{"eos_token":42}"#,
                {
                    if case .invalidField = $0 { return true }
                    return false
                }
            ),
            (
                #"{"added_tokens_decoder":{"x":{"content":"<a>"}}}"#,
                {
                    if case .invalidField = $0 { return true }
                    return false
                }
            ),
            (
                #"{"added_tokens_decoder":[]}"#,
                {
                    if case .invalidField = $0 { return true }
                    return false
                }
            ),
        ]
        for (text, check) in cases {
            try Data(text.utf8).write(to: config)
            expectError(check, mentioning: "tokenizer_config.json") {
                try ByteLevelBPETokenizer.load(directory: folder)
            }
        }
    }

    func testDescriptionsSayWhatToDo() {
        let errors: [TokenizerError] = [
            .missingFile(path: "/m/vocab.json", hint: "Copy it."),
            .noTokenizerFiles(directory: "/m"),
            .unreadableFile(path: "/m/x", reason: "denied"),
            .malformedJSON(path: "/m/tokenizer.json", offset: 12, reason: "unexpected end of file"),
            .invalidField(path: "/m/tokenizer.json", field: "model.vocab", reason: "is missing"),
            .unsupported(path: "/m/tokenizer.json", component: "the model", found: "Unigram"),
            .malformedMergesLine(path: "/m/merges.txt", line: 3, content: "abc"),
            .mergeTokenNotInVocabulary(path: "/m/merges.txt", line: 4, token: "xy"),
            .invalidVocabulary(path: "/m/vocab.json", reason: "the vocabulary is empty"),
        ]
        for error in errors {
            XCTAssertTrue(error.description.contains("/m"), error.description)
            XCTAssertGreaterThan(error.description.split(separator: ".").count, 1, "no advice in: \(error.description)")
        }
    }
}
