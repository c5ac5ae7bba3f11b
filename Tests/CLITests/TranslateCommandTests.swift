import Foundation
import XCTest

/// `octavo-infer translate`, `languages` and NLLB `tokenize` end to end on the tiny NLLB
/// folder, against transformers' text-in/text-out references.
final class TranslateCommandTests: XCTestCase {
    let tiny = CLI.fixtures.appendingPathComponent("NLLB/tiny").path

    struct TextCase: Decodable {
        let text: String
        let source: String
        let target: String
        let num_beams: Int
        let input_ids: [Int]
        let output_ids: [Int]
        let translation: String
    }

    func textCases() throws -> [TextCase] {
        struct File: Decodable { let text_cases: [TextCase] }
        return try JSONDecoder().decode(
            File.self, from: Data(contentsOf: CLI.fixtures.appendingPathComponent("NLLB/tiny.reference.json"))
        ).text_cases
    }

    func testSentencesMatchTransformersGenerateAndDecode() throws {
        for c in try textCases() {
            let result = try CLI.run([
                "translate", "--model", tiny, "--source", c.source, "--target", c.target,
                "--beams", "\(c.num_beams)", "--text", c.text, "--json",
            ])
            XCTAssertEqual(result.status, 0, result.stderr)
            let json = try result.json()
            XCTAssertEqual(json["output_ids"] as? [Int], c.output_ids, "\(c.text) -> \(c.target) beams \(c.num_beams)")
            XCTAssertEqual(json["text"] as? String, c.translation)
            let timings = try XCTUnwrap(json["timings"] as? [String: Any])
            for key in ["encode_ms", "decode_ms", "target_tokens", "target_tokens_per_s"] {
                XCTAssertNotNil(timings[key], key)
            }
            XCTAssertEqual(timings["target_tokens"] as? Int, c.output_ids.count - 1)
        }
    }

    func testSeveralSentencesBatchLikeOneAtATimeAndKeepParagraphs() throws {
        let french = try textCases().filter { $0.target == "fra_Latn" }
        let text = french[0].text + " " + french[1].text + "\n\n" + french[2].text
        let json = try CLI.run(["translate", "--model", tiny, "--target", "fra_Latn", "--text", text, "--json"]).json()
        let sentences = try XCTUnwrap(json["sentences"] as? [[String: Any]])
        XCTAssertEqual(sentences.map { $0["source"] as? String }, french.map(\.text))
        XCTAssertEqual(sentences.map { $0["output_ids"] as? [Int] }, french.map(\.output_ids))
        XCTAssertEqual(json["output_ids"] as? [[Int]], french.map(\.output_ids))
        XCTAssertEqual(
            json["text"] as? String,
            french[0].translation + " " + french[1].translation + "\n\n" + french[2].translation)
    }

    func testPlainOutputIsTheText() throws {
        let c = try textCases()[0]
        let result = try CLI.run(
            ["translate", "--model", tiny, "--target", c.target, "--beams", "\(c.num_beams)"], stdin: c.text)
        XCTAssertEqual(result.stdout, c.translation + "\n")
    }

    func testTokenizeGivesNLLBTokenizerIds() throws {
        for c in try textCases() {
            let json = try CLI.run(["tokenize", "--model", tiny, "--source", c.source, "--text", c.text, "--json"])
                .json()
            XCTAssertEqual(json["ids"] as? [Int], c.input_ids)
        }
        // The tokenizer-only folder (no config.json) is recognised as NLLB too.
        let json = try CLI.run([
            "tokenize", "--model", CLI.fixtures.appendingPathComponent("Tokenizer/nllb").path, "--text", "Hello!",
            "--json",
        ]).json()
        XCTAssertEqual((json["ids"] as? [Int])?.first, 1247)
    }

    func testLanguages() throws {
        let all = try CLI.run(["languages", "--json"]).json()["languages"] as? [[String: Any]]
        XCTAssertEqual(all?.count, 202)
        XCTAssertEqual(all?.first(where: { $0["code"] as? String == "spa_Latn" })?["name"] as? String, "Spanish")
        let fromModel = try CLI.run(["languages", "--model", tiny, "--json"]).json()["languages"] as? [[String: Any]]
        XCTAssertEqual(fromModel?.first(where: { $0["code"] as? String == "eng_Latn" })?["token_id"] as? Int, 1247)
    }

    func testBadInputsHaveClearErrors() throws {
        let unknown = try CLI.run(["translate", "--model", tiny, "--target", "english", "--text", "Hi."])
        XCTAssertEqual(unknown.status, 2)
        XCTAssertTrue(unknown.stderr.contains("eng_Latn"), unknown.stderr)
        let unknownSource = try CLI.run([
            "translate", "--model", tiny, "--source", "xx_Latn", "--target", "fra_Latn", "--text", "Hi.",
        ])
        XCTAssertEqual(unknownSource.status, 2)
        XCTAssertEqual(try CLI.run(["translate", "--model", tiny, "--text", "Hi."]).status, 2, "--target is required")
        let empty = try CLI.run(["translate", "--model", tiny, "--target", "fra_Latn", "--text", "  \n "])
        XCTAssertNotEqual(empty.status, 0)
        XCTAssertTrue(empty.stderr.contains("empty"), empty.stderr)
        let gpt2 = try CLI.run([
            "translate", "--model", CLI.fixtures.appendingPathComponent("GPT2/tiny").path, "--target", "fra_Latn",
            "--text", "Hi.",
        ])
        XCTAssertEqual(gpt2.status, 1)
        XCTAssertTrue(gpt2.stderr.contains("m2m_100"), gpt2.stderr)
    }

    /// --vocabulary-map on translate, bench and serve: a CTranslate2 vmap.txt restricts the output.
    func testVocabularyMapRestrictsTheOutputEverywhereItIsTaken() throws {
        let map = FileManager.default.temporaryDirectory.appendingPathComponent("vmap-\(UUID().uuidString).txt")
        // Always-candidates only: the pieces of "old tree" besides the specials.
        let tokenized = try CLI.run(["tokenize", "--model", tiny, "--text", "old tree", "--json"]).json()
        let pieces = try XCTUnwrap(tokenized["tokens"] as? [String]).dropFirst().dropLast()  // no language code, no </s>
        let pieceIDs = try XCTUnwrap(tokenized["ids"] as? [Int]).dropFirst().dropLast()
        XCTAssertGreaterThan(pieces.count, 1)
        try ("\t" + pieces.joined(separator: " ") + "\n").write(to: map, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: map) }

        let json = try CLI.run([
            "translate", "--model", tiny, "--target", "fra_Latn", "--text", "The dragon slept.", "--vocabulary-map",
            map.path, "--json",
        ]).json()
        let french = try XCTUnwrap(json["output_ids"] as? [Int])[1]
        let candidates = Set([0, 2, 3, french] + pieceIDs)  // <s>, </s>, <unk> as CTranslate2 4.8 has them
        XCTAssertEqual((json["timings"] as? [String: Any])?["output_vocabulary"] as? Int, candidates.count)
        for token in try XCTUnwrap(json["output_ids"] as? [Int]) {
            XCTAssertTrue(candidates.contains(token), "\(token)")
        }

        let bench = try CLI.run([
            "bench", "--model", tiny, "--prompt-tokens", "6", "--new-tokens", "4", "--runs", "1", "--vocabulary-map",
            map.path, "--json",
        ])
        XCTAssertEqual(bench.status, 0, bench.stderr)
        XCTAssertEqual(try bench.json()["vocabulary_map"] as? String, map.lastPathComponent)
        XCTAssertEqual(
            try bench.json()["output_vocabulary"] as? Int, candidates.count,
            "the specials, the pieces, the target language")

        let missing = try CLI.run([
            "translate", "--model", tiny, "--target", "fra_Latn", "--text", "Hi.", "--vocabulary-map",
            map.path + ".missing",
        ])
        XCTAssertEqual(missing.status, 1)
        XCTAssertTrue(missing.stderr.contains(map.path + ".missing"), missing.stderr)
        let gpt2 = CLI.fixtures.appendingPathComponent("GPT2/tiny").path
        XCTAssertEqual(try CLI.run(["bench", "--model", gpt2, "--vocabulary-map", map.path]).status, 2)
        let serve = try CLI.run([
            "serve", "--model", "nllb=\(tiny)", "--vocabulary-map", "other=\(map.path)", "--port", "0",
        ])
        XCTAssertEqual(serve.status, 2)
        XCTAssertTrue(serve.stderr.contains("no --model is named 'other'"), serve.stderr)
    }

    func testFolderWithoutTokenizer() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent(
            "nllb-no-tokenizer-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        for name in ["config.json", "generation_config.json", "model.safetensors"] {
            try FileManager.default.copyItem(
                at: URL(fileURLWithPath: tiny).appendingPathComponent(name), to: folder.appendingPathComponent(name))
        }
        let result = try CLI.run(["translate", "--model", folder.path, "--target", "fra_Latn", "--text", "Hi."])
        XCTAssertEqual(result.status, 1)
        XCTAssertTrue(
            result.stderr.contains("sentencepiece.bpe.model") || result.stderr.contains("tokenizer"), result.stderr)
    }
}
