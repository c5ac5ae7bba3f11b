import Foundation
import Generation
import XCTest

@testable import octavo_infer

/// What users hit first: escapes in --stop, piped input, short options, --version, inspect on NLLB.
final class CommandLineConvenienceTests: XCTestCase {
    let tiny = CLI.fixtures.appendingPathComponent("GPT2/tiny").path
    let nllb = CLI.fixtures.appendingPathComponent("NLLB/tiny").path

    func testStopTakesNewlineAndTabEscapes() throws {
        XCTAssertEqual(unescapeCommandLineText(#"\n\n"#), "\n\n")
        XCTAssertEqual(unescapeCommandLineText(#"a\tb\r\\n\q\"#), "a\tb\r\\n\\q\\")
        let arguments = try CommandLineArguments(["--stop", #"\n\n"#, "--stop", "THE END"], spec: GenerateCommand.spec)
        let parameters = try GenerateCommand.samplingParameters(arguments, defaults: GenerationParameters())
        XCTAssertEqual(parameters.stopStrings, ["\n\n", "THE END"])
    }

    func testPipedPromptLosesItsFinalNewlineOnly() throws {
        let typed = try CLI.run([
            "generate", "-m", tiny, "-p", "Once upon a time", "--greedy", "--max-new-tokens", "2", "--json",
        ])
        XCTAssertEqual(typed.status, 0, typed.stderr)
        let piped = try CLI.run(
            ["generate", "--model", tiny, "--greedy", "--max-new-tokens", "2", "--json"],
            stdin: "Once upon a time\n")
        XCTAssertEqual(piped.status, 0, piped.stderr)
        XCTAssertEqual(try piped.json()["prompt_ids"] as? [Int], try typed.json()["prompt_ids"] as? [Int])
        let twoLines = try CLI.run(["tokenize", "--model", tiny, "--json"], stdin: "a\n\n")
        let oneLine = try CLI.run(["tokenize", "--model", tiny, "--text", "a\n", "--json"])
        XCTAssertEqual(try twoLines.json()["ids"] as? [Int], try oneLine.json()["ids"] as? [Int])
    }

    func testDetokenizeReadsIdsFromStandardInput() throws {
        let ids = try CLI.run(["tokenize", "--model", tiny, "--text", "Once upon a time"])
        XCTAssertEqual(ids.status, 0, ids.stderr)
        let text = try CLI.run(["detokenize", "--model", tiny], stdin: ids.stdout)
        XCTAssertEqual(text.status, 0, text.stderr)
        XCTAssertEqual(text.stdout, "Once upon a time\n")
    }

    func testTranslateReadsStandardInput() throws {
        let typed = try CLI.run([
            "translate", "-m", nllb, "--target", "fra_Latn", "--text", "Hello.", "--max-new-tokens", "4",
        ])
        XCTAssertEqual(typed.status, 0, typed.stderr)
        let piped = try CLI.run(
            ["translate", "--model", nllb, "--target", "fra_Latn", "--max-new-tokens", "4"], stdin: "Hello.\n")
        XCTAssertEqual(piped.status, 0, piped.stderr)
        XCTAssertEqual(piped.stdout, typed.stdout)
    }

    func testVersionFlags() throws {
        // main.swift's globals are not initialized inside the test bundle: compare the two flags.
        let short = try CLI.run(["-V"])
        let long = try CLI.run(["--version"])
        XCTAssertEqual(short.status, 0, short.stderr)
        XCTAssertTrue(short.stdout.hasPrefix("octavo-infer 0."), short.stdout)
        XCTAssertEqual(short.stdout, long.stdout)
    }

    func testInspectWorksOnNLLBFolders() throws {
        let result = try CLI.run(["inspect", "-m", nllb, "--json"])
        XCTAssertEqual(result.status, 0, result.stderr)
        let json = try result.json()
        XCTAssertEqual(json["model_type"] as? String, "m2m_100")
        // torch: sum(p.numel() for p in AutoModelForSeq2SeqLM.from_pretrained(tiny).parameters()) == 87872
        XCTAssertEqual(json["parameters"] as? Int, 87872)
        XCTAssertEqual((json["config"] as? [String: String])?["d_model"], "32")
        XCTAssertEqual(json["context_length"] as? Int, 64)
        // Self and cross attention, keys and values, 2 decoder layers, 64 positions, 32 wide, f32.
        XCTAssertEqual(json["kv_cache_bytes_per_sequence"] as? Int, 4 * 2 * 64 * 32 * 4)
        XCTAssertEqual(try CLI.run(["inspect", "-m", tiny]).status, 0)
    }
}
