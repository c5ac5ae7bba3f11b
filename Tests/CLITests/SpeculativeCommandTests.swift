import Foundation
import XCTest

/// `generate --draft` prints the target's own greedy ids, and `bench --draft` checks that it did.
final class SpeculativeCommandTests: XCTestCase {
    let gpt2 = CLI.fixtures.appendingPathComponent("GPT2/tiny").path
    let variant = CLI.fixtures.appendingPathComponent("GPT2/variant").path

    func testGenerateWithEveryDraftPrintsThePlainIds() throws {
        let args = [
            "generate", "--model", gpt2, "--prompt", "The sea remembers", "--greedy", "--max-new-tokens", "30",
            "--json",
        ]
        let plain = try CLI.run(args)
        XCTAssertEqual(plain.status, 0, plain.stderr)
        let expected = try XCTUnwrap(try plain.json()["generated_ids"] as? [Int])
        XCTAssertNil(try plain.json()["speculative"], "no draft, no speculative report")
        for draft in ["int8", "f16", "ngram", variant, "ngram+int8"] {
            let result = try CLI.run(args + ["--draft", draft, "--draft-tokens", "3"])
            XCTAssertEqual(result.status, 0, result.stderr)
            let json = try result.json()
            XCTAssertEqual(json["generated_ids"] as? [Int], expected, draft)
            let speculative = try XCTUnwrap(json["speculative"] as? [String: Any], draft)
            XCTAssertEqual(speculative["draft"] as? String, draft)
            XCTAssertNotNil(speculative["acceptance_rate"] as? Double)
        }
    }

    func testTranslateWithEveryDraftPrintsThePlainIds() throws {
        let nllb = CLI.fixtures.appendingPathComponent("NLLB/tiny").path
        let args = [
            "translate", "--model", nllb, "--target", "fra_Latn", "--text", "Hello there, my friend. It is 12 o'clock.",
            "--json",
        ]
        let plain = try CLI.run(args)
        XCTAssertEqual(plain.status, 0, plain.stderr)
        let expected = try XCTUnwrap(try plain.json()["output_ids"] as? [[Int]])
        for draft in ["int8", "f16", "ngram", "ngram+int8"] {
            let result = try CLI.run(args + ["--draft", draft])
            XCTAssertEqual(result.status, 0, result.stderr)
            let json = try result.json()
            XCTAssertEqual(json["output_ids"] as? [[Int]], expected, draft)
            XCTAssertEqual((json["speculative"] as? [String: Any])?["draft"] as? String, draft)
        }
        let beams = try CLI.run(args + ["--draft", "ngram", "--beams", "2"])
        XCTAssertEqual(beams.status, 2, "speculative translation is greedy")
        let unknown = try CLI.run(args + ["--draft", "models/other"])
        XCTAssertEqual(unknown.status, 2)
    }

    func testDraftOptionsAreChecked() throws {
        let base = ["generate", "--model", gpt2, "--prompt", "x"]
        let lonely = try CLI.run(base + ["--max-new-tokens", "3", "--draft-tokens", "3"])
        XCTAssertEqual(lonely.status, 2)
        XCTAssertTrue(lonely.stderr.contains("--draft-tokens needs --draft"), lonely.stderr)
        let tooMany = try CLI.run(base + ["--max-new-tokens", "3", "--draft", "ngram", "--draft-tokens", "40"])
        XCTAssertEqual(tooMany.status, 2)
        XCTAssertTrue(tooMany.stderr.contains("--draft-tokens must be between 1 and 7"), tooMany.stderr)
        let overflow = try CLI.run(
            base + ["--draft", "ngram", "--max-new-tokens", "200", "--context-overflow", "keep-recent"])
        XCTAssertNotEqual(overflow.status, 0)
        XCTAssertTrue(overflow.stderr.contains("drop --draft"), overflow.stderr)
    }

    func testBenchComparesTheIdsAndReportsAcceptance() throws {
        let result = try CLI.run([
            "bench", "--model", gpt2, "--draft", "int8", "--prompt-tokens", "8", "--new-tokens", "20",
            "--runs", "2", "--json",
        ])
        XCTAssertEqual(result.status, 0, result.stderr)
        let json = try result.json()
        XCTAssertEqual(json["ids_equal_plain"] as? Bool, true)
        XCTAssertEqual(json["draft"] as? String, "int8")
        for key in [
            "plain_decode_tokens_per_s", "speculative_decode_tokens_per_s", "decode_tokens_per_s", "speedup",
            "acceptance_rate", "tokens_per_round",
        ] {
            XCTAssertNotNil(json[key], key)
        }
        XCTAssertGreaterThan(
            json["acceptance_rate"] as? Double ?? 0, 0.5, "int8 agrees with f32 on most tokens of the fixture")
    }

    func testBenchOnATranslationModelComparesTheIdsForEachDraft() throws {
        let nllb = CLI.fixtures.appendingPathComponent("NLLB/tiny").path
        let base = ["bench", "--model", nllb, "--prompt-tokens", "10", "--new-tokens", "20", "--runs", "1", "--json"]
        for draft in ["int8", "ngram", "ngram+int8"] {
            let result = try CLI.run(base + ["--draft", draft])
            XCTAssertEqual(result.status, 0, result.stderr)
            let json = try result.json()
            XCTAssertEqual(json["ids_equal_plain"] as? Bool, true, draft)
            XCTAssertEqual(json["draft"] as? String, draft)
            XCTAssertEqual(json["task"] as? String, "translate")
            for key in [
                "plain_decode_tokens_per_s", "speculative_decode_tokens_per_s", "target_tokens_per_s", "speedup",
                "acceptance_rate", "tokens_per_round",
            ] {
                XCTAssertNotNil(json[key], "\(draft): \(key)")
            }
            XCTAssertGreaterThan(json["tokens_per_round"] as? Double ?? 0, 1, "\(draft) kept guesses on the fixture")
        }
        let beams = try CLI.run(base + ["--draft", "ngram", "--beams", "2"])
        XCTAssertEqual(beams.status, 2, "speculative translation is greedy")
        XCTAssertTrue(beams.stderr.contains("greedy batch 1"), beams.stderr)
    }
}
