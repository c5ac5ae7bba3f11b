import Foundation
import XCTest

@testable import Tokenizer

/// Added and special tokens (every lstrip/rstrip/single_word/normalized combination) and
/// the model-folder layouts, against transformers on a small trained byte-level BPE.
final class AddedTokensTests: XCTestCase {
    private func probes(_ list: Any?) -> [(text: String, ids: [Int], decoded: String, skip: String)] {
        (list as! [[String: Any]]).map {
            ($0["text"] as! String, ints($0["ids"]), $0["decoded"] as! String, $0["decoded_skip_special"] as! String)
        }
    }

    private func assertProbes(
        _ tokenizer: ByteLevelBPETokenizer, _ list: Any?, _ name: String,
        file: StaticString = #filePath, line: UInt = #line
    ) {
        for probe in probes(list) {
            XCTAssertEqual(
                tokenizer.encode(probe.text), probe.ids, "\(name): \(probe.text.debugDescription)", file: file,
                line: line)
            XCTAssertSameScalars(
                tokenizer.decode(probe.ids, skipSpecialTokens: false), probe.decoded, "\(name): decode", file: file,
                line: line)
            XCTAssertSameScalars(
                tokenizer.decode(probe.ids, skipSpecialTokens: true), probe.skip, "\(name): decode skipping specials",
                file: file, line: line)
        }
    }

    /// `init(tokenizerJSONURL:)` is `tokenizers.Tokenizer.from_file`.
    func testTokenizerJSONLoaderMatchesTokenizersLibrary() throws {
        let backend = Fixtures.smallExpected["tokenizer_json_backend"] as! [String: Any]
        for folder in ["tokenizer-json", "tokenizer-json-prefix"] {
            let url = Fixtures.smallDirectory.appendingPathComponent(folder).appendingPathComponent("tokenizer.json")
            let tokenizer = try ByteLevelBPETokenizer(tokenizerJSONURL: url)
            XCTAssertEqual(tokenizer.addPrefixSpace, folder == "tokenizer-json-prefix")
            assertProbes(tokenizer, backend[folder], folder)
        }
    }

    /// `load(directory:)` is `GPT2TokenizerFast.from_pretrained(folder)`.
    func testModelFolderLayoutsMatchTransformers() throws {
        let folders = Fixtures.smallExpected["folders"] as! [String: [String: Any]]
        XCTAssertEqual(folders.count, 5)
        for (folder, expected) in folders.sorted(by: { $0.key < $1.key }) {
            let tokenizer = try ByteLevelBPETokenizer.load(
                directory: Fixtures.smallDirectory.appendingPathComponent(folder))
            XCTAssertEqual(tokenizer.vocabularySize, expected["vocabulary_size"] as? Int, folder)
            XCTAssertEqual(tokenizer.specialTokenIDs, Set(ints(expected["special_ids"])), folder)
            XCTAssertEqual(
                tokenizer.cleanUpTokenizationSpaces, expected["clean_up_tokenization_spaces"] as? Bool, folder)
            assertProbes(tokenizer, expected["probes"], folder)
        }
    }

    /// Random mixes of added tokens, their fragments and whitespace.
    func testRandomMixesOfAddedTokensMatchHF() throws {
        let fuzz = Fixtures.smallExpected["fuzz"] as! [String: Any]
        let texts = fuzz["texts"] as! [String]
        let loaders: [(String, () throws -> ByteLevelBPETokenizer)] = [
            (
                "tokenizer_json_backend",
                {
                    try ByteLevelBPETokenizer(
                        tokenizerJSONURL: Fixtures.smallDirectory.appendingPathComponent(
                            "tokenizer-json/tokenizer.json"))
                }
            ),
            (
                "vocab-merges-config",
                {
                    try ByteLevelBPETokenizer.load(
                        directory: Fixtures.smallDirectory.appendingPathComponent("vocab-merges-config"))
                }
            ),
            (
                "tokenizer-json-config",
                {
                    try ByteLevelBPETokenizer.load(
                        directory: Fixtures.smallDirectory.appendingPathComponent("tokenizer-json-config"))
                }
            ),
        ]
        for (name, load) in loaders {
            let tokenizer = try load()
            let expected = (fuzz[name] as! [Any]).map { ints($0) }
            XCTAssertEqual(expected.count, texts.count)
            var failures = 0
            for (text, ids) in zip(texts, expected) where tokenizer.encode(text) != ids {
                failures += 1
                if failures <= 5 {
                    XCTFail("\(name): \(text.debugDescription): got \(tokenizer.encode(text)), HF \(ids)")
                }
            }
        }
    }

    func testMatchingOptionsOnHandPickedCases() throws {
        let url = Fixtures.smallDirectory.appendingPathComponent("tokenizer-json/tokenizer.json")
        let tokenizer = try ByteLevelBPETokenizer(tokenizerJSONURL: url)
        let mask = try XCTUnwrap(tokenizer.id(forToken: "[MASK]"))
        let sep = try XCTUnwrap(tokenizer.id(forToken: "<sep>"))
        let ny = try XCTUnwrap(tokenizer.id(forToken: "ny"))
        // lstrip swallows the spaces before [MASK]; rstrip the spaces after <sep>.
        XCTAssertEqual(tokenizer.encode("   [MASK]"), [mask])
        XCTAssertEqual(tokenizer.encode("<sep>   "), [sep])
        XCTAssertEqual(tokenizer.encode("[MASK]  ").first, mask)
        XCTAssertGreaterThan(tokenizer.encode("[MASK]  ").count, 1)
        // single_word: "ny" only alone, not inside "funny" or "nyc".
        XCTAssertEqual(tokenizer.encode("ny"), [ny])
        XCTAssertFalse(tokenizer.encode("funny").contains(ny))
        XCTAssertFalse(tokenizer.encode("nyc").contains(ny))
        XCTAssertFalse(tokenizer.encode("ény").contains(ny), "é is a word character")
        XCTAssertTrue(tokenizer.encode("a ny!").contains(ny))
        // Leftmost-longest: "abc" wins over "ab".
        let abc = try XCTUnwrap(tokenizer.id(forToken: "abc"))
        XCTAssertEqual(tokenizer.encode("abc"), [abc])
    }

    func testAddedTokenDecodingFollowsTheByteLevelDecoder() throws {
        let url = Fixtures.smallDirectory.appendingPathComponent("tokenizer-json/tokenizer.json")
        let tokenizer = try ByteLevelBPETokenizer(tokenizerJSONURL: url)
        // "中文" has characters outside the byte table: decoded from its own UTF-8.
        let chinese = try XCTUnwrap(tokenizer.id(forToken: "中文"))
        XCTAssertEqual(tokenizer.decode([chinese], skipSpecialTokens: false), "中文")
        // "é" is itself the byte-level character of byte 0xE9: HF decodes it to that lone
        // byte, which is invalid UTF-8. Surprising, but that is the reference.
        let eAcute = try XCTUnwrap(tokenizer.id(forToken: "é"))
        XCTAssertEqual(tokenizer.decode([eAcute], skipSpecialTokens: false), "\u{FFFD}")
    }

    func testAddedVocabularyAssignsIdsLikeHF() {
        var vocabulary = AddedVocabulary(baseVocabulary: [Array("a".utf8): 0, Array("b".utf8): 1, Array("c".utf8): 5])
        vocabulary.add(AddedToken(content: "b", id: 99, special: true))
        vocabulary.add(AddedToken(content: "<x>", id: 99, special: false))
        vocabulary.add(AddedToken(content: "<y>", id: 99, special: true))
        vocabulary.add(AddedToken(content: "<x>", id: 7, special: false, lstrip: true))
        // Existing content keeps its id; new ones start at the vocabulary's entry count (3).
        XCTAssertEqual(vocabulary.tokens.map(\.id), [1, 3, 4])
        XCTAssertEqual(vocabulary.token(withContent: "<x>")?.lstrip, true)
        XCTAssertEqual(vocabulary.specialContents, [Array("b".utf8), Array("<y>".utf8)])
    }

    func testVocabAndMergesLoaderTakesExplicitAddedTokens() throws {
        let directory = Fixtures.smallDirectory.appendingPathComponent("vocab-merges")
        let tokenizer = try ByteLevelBPETokenizer(
            vocabularyURL: directory.appendingPathComponent("vocab.json"),
            mergesURL: directory.appendingPathComponent("merges.txt"),
            addedTokens: [
                AddedToken(content: "<|im_start|>", id: 0, special: true),
                AddedToken(content: "<|im_end|>", id: 0, special: true),
            ])
        XCTAssertEqual(tokenizer.vocabularySize, 702)
        XCTAssertEqual(tokenizer.specialTokenIDs, [700, 701])
        XCTAssertEqual(tokenizer.encode("<|im_start|>hi<|im_end|>").first, 700)
        XCTAssertEqual(tokenizer.encode("<|im_start|>hi<|im_end|>").last, 701)
        XCTAssertEqual(tokenizer.decode(tokenizer.encode("<|im_start|>hi<|im_end|>"), skipSpecialTokens: true), "hi")
    }
}
