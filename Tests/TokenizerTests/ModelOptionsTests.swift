import Foundation
import XCTest

@testable import Tokenizer

/// tokenizer.json options that GPT-2 does not use but other byte-level BPE models do.
final class ModelOptionsTests: XCTestCase {
    private var directory: URL!

    override func setUpWithError() throws {
        directory = try Fixtures.temporaryDirectory()
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: directory)
    }

    static func tokenizerJSON(model: String) -> String {
        #"{"version":"1.0","added_tokens":[],"normalizer":null,"pre_tokenizer":{"type":"ByteLevel","add_prefix_space":false,"#
            + #""trim_offsets":true,"use_regex":true},"post_processor":null,"decoder":{"type":"ByteLevel","add_prefix_space":true,"trim_offsets":true,"use_regex":true},"model":\#(model)}"#
    }

    /// `ignore_merges` on a vocabulary where it matters (checked with tokenizers 0.22:
    /// [0, 3, 6, 0, 3] without it, [4, 6, 0, 3] with it).
    func testIgnoreMergesTakesWholeWordsFromTheVocabulary() throws {
        for (flag, expected) in [("false", [0, 3, 6, 0, 3]), ("true", [4, 6, 0, 3])] {
            let model =
                #"{"type":"BPE","ignore_merges":\#(flag),"vocab":{"a":0,"b":1,"c":2,"bc":3,"abc":4,"ab":5,"Ġ":6},"merges":["b c","a b"]}"#
            let url = directory.appendingPathComponent("ignore-\(flag).json")
            try Data(Self.tokenizerJSON(model: model).utf8).write(to: url)
            let tokenizer = try ByteLevelBPETokenizer(tokenizerJSONURL: url)
            XCTAssertEqual(tokenizer.encode("abc abc"), expected, "ignore_merges \(flag)")
        }
    }

    /// `ignore_merges` (Llama-3 style) and `use_regex: false`, which GPT-2 does not use.
    func testModelAndPreTokenizerOptionsMatchTokenizersLibrary() throws {
        let variants = Fixtures.smallExpected["variants"] as! [String: Any]
        let source = try String(
            contentsOf: Fixtures.smallDirectory.appendingPathComponent("tokenizer-json/tokenizer.json"), encoding: .utf8
        )
        let edits = [
            "ignore_merges": (#""ignore_merges": false"#, #""ignore_merges": true"#),
            "no_regex": (#""use_regex": true"#, #""use_regex": false"#),
        ]
        let texts =
            ((Fixtures.smallExpected["tokenizer_json_backend"] as! [String: Any])["tokenizer-json"] as! [[String: Any]])
            .map { $0["text"] as! String }
        for (name, (from, to)) in edits {
            let range = try XCTUnwrap(source.range(of: from))
            let url = directory.appendingPathComponent("\(name).json")
            try source.replacingCharacters(in: range, with: to).write(to: url, atomically: true, encoding: .utf8)
            let tokenizer = try ByteLevelBPETokenizer(tokenizerJSONURL: url)
            let expected = (variants[name] as! [Any]).map { ints($0) }
            XCTAssertEqual(expected.count, texts.count)
            for (text, ids) in zip(texts, expected) {
                XCTAssertEqual(tokenizer.encode(text), ids, "\(name): \(text.debugDescription)")
            }
        }
    }

}
