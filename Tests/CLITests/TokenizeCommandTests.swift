import Foundation
import XCTest

final class TokenizeCommandTests: XCTestCase {
    let gpt2 = CLI.fixtures.appendingPathComponent("Tokenizer/gpt2").path

    func testTokenizeJSONAndPlain() throws {
        let json = try CLI.run(["tokenize", "--model", gpt2, "--text", "Hello world<|endoftext|>", "--json"]).json()
        XCTAssertEqual(json["ids"] as? [Int], [15496, 995, 50256])
        XCTAssertEqual(json["tokens"] as? [String], ["Hello", "Ġworld", "<|endoftext|>"])
        let plain = try CLI.run(["tokenize", "--model", gpt2, "--text", "Hello world"])
        XCTAssertEqual(plain.stdout, "15496 995\n")
    }

    func testDetokenizeIsTheInverse() throws {
        let text = "Naïve café — 東京 🙂\r\n  tabs\there"
        let ids = try CLI.run(["tokenize", "--model", gpt2, "--text", text]).stdout.trimmingCharacters(
            in: .whitespacesAndNewlines)
        let back = try CLI.run(["detokenize", "--model", gpt2, "--json", ids]).json()
        XCTAssertEqual(back["text"] as? String, text)
    }

    func testDetokenizeRejectsBadIds() throws {
        XCTAssertEqual(try CLI.run(["detokenize", "--model", gpt2, "12", "abc"]).status, 2)
        XCTAssertEqual(try CLI.run(["detokenize", "--model", gpt2, "99999999"]).status, 1)
        XCTAssertEqual(try CLI.run(["detokenize", "--model", gpt2, "--", "-1"]).status, 1)
    }

    func testInspectReportsParameters() throws {
        let result = try CLI.run([
            "inspect", "--model", CLI.fixtures.appendingPathComponent("GPT2/tiny").path, "--json",
        ])
        XCTAssertEqual(result.status, 0, result.stderr)
        let json = try result.json()
        // wte 513·48 + wpe 64·48 + 2 blocks + ln_f, tied head counted once
        let block = 2 * 48 + (48 * 144 + 144) + (48 * 48 + 48) + 2 * 48 + (48 * 192 + 192) + (192 * 48 + 48)
        XCTAssertEqual(json["parameters"] as? Int, 513 * 48 + 64 * 48 + 2 * block + 2 * 48)
        XCTAssertEqual(json["dtypes"] as? [String: Int], ["F32": 2 * 12 + 4])
    }
}
