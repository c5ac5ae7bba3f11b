import Foundation
import XCTest

/// `octavo-infer generate` end to end on the tiny fixtures.
final class GenerateCommandTests: XCTestCase {
    let tiny = CLI.fixtures.appendingPathComponent("GPT2/tiny").path

    struct Reference: Decodable {
        struct Prompt: Decodable {
            let text: String
            let ids: [Int]
            let greedy: [Int]
        }
        let prompts: [Prompt]
    }

    func reference() throws -> Reference {
        try JSONDecoder().decode(
            Reference.self, from: Data(contentsOf: CLI.fixtures.appendingPathComponent("GPT2/tiny.reference.json")))
    }

    func testJSONGivesTransformersGreedyIds() throws {
        for prompt in try reference().prompts {
            let result = try CLI.run([
                "generate", "--model", tiny, "--prompt", prompt.text, "--greedy", "--max-new-tokens", "24", "--json",
            ])
            XCTAssertEqual(result.status, 0, result.stderr)
            let json = try result.json()
            XCTAssertEqual(json["prompt_ids"] as? [Int], prompt.ids)
            XCTAssertEqual(json["generated_ids"] as? [Int], prompt.greedy, prompt.text)
            XCTAssertEqual(json["finish_reason"] as? String, "length")
            let timings = try XCTUnwrap(json["timings"] as? [String: Any])
            for key in [
                "load_ms", "prefill_ms", "decode_ms", "prompt_tokens", "generated_tokens", "decode_tokens_per_s",
            ] {
                XCTAssertNotNil(timings[key], key)
            }
            XCTAssertEqual(timings["generated_tokens"] as? Int, 24)
            XCTAssertEqual(result.stdout.filter { $0 == "\n" }.count, 1, "exactly one JSON line")
        }
    }

    func testStreamedTextEqualsTheJSONText() throws {
        let args = [
            "generate", "--model", tiny, "--prompt", "Once upon a time", "--seed", "5", "--max-new-tokens", "30",
        ]
        let streamed = try CLI.run(args)
        let json = try CLI.run(args + ["--json"]).json()
        XCTAssertEqual(streamed.status, 0)
        XCTAssertEqual(streamed.stdout, (json["text"] as? String ?? "") + "\n")
    }

    func testPromptFromStdinAndFromFile() throws {
        let fromStdin = try CLI.run(
            ["generate", "--model", tiny, "--greedy", "--max-new-tokens", "5", "--json"], stdin: "Once upon a time")
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("prompt-\(UUID().uuidString).txt")
        try "Once upon a time".write(to: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: file) }
        let fromFile = try CLI.run([
            "generate", "--model", tiny, "--prompt-file", file.path, "--greedy", "--max-new-tokens", "5", "--json",
        ])
        XCTAssertEqual(try fromStdin.json()["generated_ids"] as? [Int], try fromFile.json()["generated_ids"] as? [Int])
        XCTAssertEqual(try fromFile.json()["prompt_ids"] as? [Int], [345, 452, 220, 500, 256, 387])
    }

    func testStopStringIsReportedAndCut() throws {
        // Greedy text of the first prompt, then stop on a piece of it.
        let full = try CLI.run([
            "generate", "--model", tiny, "--prompt", "Once upon a time", "--greedy", "--max-new-tokens", "24", "--json",
        ]).json()
        let text = try XCTUnwrap(full["text"] as? String)
        let stop = String(text.dropFirst(3).prefix(2))
        let cut = try CLI.run([
            "generate", "--model", tiny, "--prompt", "Once upon a time", "--greedy", "--max-new-tokens", "24",
            "--stop", stop, "--json",
        ]).json()
        XCTAssertEqual(cut["finish_reason"] as? String, "stop")
        XCTAssertEqual(cut["stop"] as? String, stop)
        let cutText = try XCTUnwrap(cut["text"] as? String)
        XCTAssertFalse(cutText.contains(stop))
        XCTAssertTrue(text.hasPrefix(cutText))
    }

    func testSameSeedSameOutput() throws {
        let args = [
            "generate", "--model", tiny, "--prompt", "The sea", "--seed", "11", "--top-p", "0.9", "--max-new-tokens",
            "20", "--json",
        ]
        XCTAssertEqual(
            try CLI.run(args).json()["generated_ids"] as? [Int], try CLI.run(args).json()["generated_ids"] as? [Int])
    }

    func testUsageErrorsExitTwo() throws {
        for args in [
            ["generate", "--prompt", "x"],
            ["generate", "--model", tiny, "--prompt", "x", "--temprature", "1"],
            ["generate", "--model", tiny, "--prompt", "x", "--top-p", "abc"],
            ["generate", "--model", tiny, "--prompt", "x", "--top-p", "1.5"],
            ["generate", "--model", tiny, "--prompt", "x", "--greedy", "--sample"],
            ["generate", "--model", tiny, "--prompt", "x", "--max-new-tokens"],
            ["frobnicate"],
        ] {
            let result = try CLI.run(args)
            XCTAssertEqual(result.status, 2, "\(args): \(result.stderr)")
            XCTAssertEqual(result.stderr.filter { $0 == "\n" }.count, 1, "one line on stderr: \(result.stderr)")
            XCTAssertTrue(result.stdout.isEmpty)
        }
    }

    func testContextOverflowIsARuntimeError() throws {
        let long = String(repeating: "Once upon a time ", count: 40)
        let result = try CLI.run(["generate", "--model", tiny, "--prompt", long, "--max-new-tokens", "5"])
        XCTAssertEqual(result.status, 1)
        XCTAssertTrue(result.stderr.contains("64 positions"), result.stderr)
        let kept = try CLI.run([
            "generate", "--model", tiny, "--prompt", long, "--max-new-tokens", "5", "--context-overflow", "keep-recent",
            "--json",
        ])
        XCTAssertEqual(kept.status, 0, kept.stderr)
        XCTAssertEqual((try kept.json()["generated_ids"] as? [Int])?.count, 5)
    }

    func testEveryCommandHasHelp() throws {
        let top = try CLI.run(["--help"])
        XCTAssertEqual(top.status, 0)
        let commands = top.stdout.split(separator: "\n").drop { !$0.hasPrefix("Commands:") }.dropFirst()
            .prefix { $0.hasPrefix("  ") }.compactMap { $0.split(separator: " ").first.map(String.init) }
        XCTAssertGreaterThanOrEqual(commands.count, 4)
        for command in commands {
            let help = try CLI.run([command, "--help"])
            XCTAssertEqual(help.status, 0, command)
            XCTAssertTrue(help.stdout.contains("Usage: octavo-infer \(command)"), command)
            XCTAssertTrue(help.stdout.contains("Example"), command)
        }
    }
}
