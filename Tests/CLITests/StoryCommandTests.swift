import Foundation
import XCTest

/// `octavo-infer story` end to end on the tiny GPT-2 and NLLB folders.
final class StoryCommandTests: XCTestCase {
    let gpt2 = CLI.fixtures.appendingPathComponent("GPT2/tiny").path
    let nllb = CLI.fixtures.appendingPathComponent("NLLB/tiny").path

    func testStreamedStoryIsTheJSONContentAndTheSeedRepeatsIt() throws {
        let arguments = [
            "story", "--model", gpt2, "--prompt", "Once upon a time. Story:", "--audience", "children", "--seed", "4",
        ]
        let streamed = try CLI.run(arguments)
        XCTAssertEqual(streamed.status, 0, streamed.stderr)
        let json = try CLI.run(arguments + ["--json"]).json()
        XCTAssertEqual(streamed.stdout, (json["content"] as? String ?? "") + "\n")
        XCTAssertEqual(json["content"] as? String, json["original_content"] as? String)
        XCTAssertEqual(json["seed"] as? Int, 4)
        XCTAssertGreaterThan(json["generated_tokens"] as? Int ?? 0, 0)
        XCTAssertEqual(try CLI.run(arguments + ["--json"]).json()["content"] as? String, json["content"] as? String)
    }

    func testTranslatedStoryHasOneTranslationPerParagraph() throws {
        let result = try CLI.run([
            "story", "--model", gpt2, "--translator", nllb, "--prompt", "Hello. Story:",
            "--language", "spa_Latn", "--seed", "4", "--json",
        ])
        XCTAssertEqual(result.status, 0, result.stderr)
        let json = try result.json()
        let paragraphs = try XCTUnwrap(json["paragraphs"] as? [[String: Any]])
        XCTAssertFalse(paragraphs.isEmpty)
        let translations = paragraphs.compactMap { $0["translation"] as? String }
        XCTAssertEqual(translations.count, paragraphs.count)
        XCTAssertEqual(json["content"] as? String, "[Content]: " + translations.joined(separator: "\n\n[Content]: "))
        XCTAssertEqual(
            json["original_content"] as? String,
            "[Content]: " + paragraphs.compactMap { $0["text"] as? String }.joined(separator: "\n\n[Content]: "))
    }

    func testMistakesAreUsageErrorsThatSayWhatToDo() throws {
        let audience = try CLI.run(["story", "--model", gpt2, "--prompt", "x", "--audience", "teen"])
        XCTAssertEqual(audience.status, 2)
        XCTAssertTrue(audience.stderr.contains("adult, children, young"), audience.stderr)
        let language = try CLI.run(["story", "--model", gpt2, "--prompt", "x", "--language", "spa_Latn"])
        XCTAssertEqual(language.status, 2)
        XCTAssertTrue(language.stderr.contains("--translator"), language.stderr)
        let unknown = try CLI.run([
            "story", "--model", gpt2, "--translator", nllb, "--prompt", "x", "--language", "spa_latn",
        ])
        XCTAssertEqual(unknown.status, 2)
        XCTAssertTrue(unknown.stderr.contains("spa_Latn"), unknown.stderr)
    }
}
