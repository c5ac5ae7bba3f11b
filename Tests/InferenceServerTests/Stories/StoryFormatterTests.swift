import Foundation
import XCTest

@testable import InferenceServer
@testable import ServiceTestSupport

/// `StoryFormatter` against the Python reference of the old services
/// (scripts/fixtures/legacy_story_reference.py → Tests/Fixtures/Legacy/story_formatter_cases.json).
final class StoryFormatterTests: XCTestCase {
    struct Case: Decodable {
        let name: String
        let input: String
        let expected_small: String
        let expected_medium: String
    }

    struct Fixture: Decodable {
        let words_per_paragraph: Int
        let python_whitespace: [UInt32]
        let cases: [Case]
    }

    static func loadFixture() throws -> Fixture {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
            .appendingPathComponent("Fixtures/Legacy/story_formatter_cases.json")
        return try JSONDecoder().decode(Fixture.self, from: Data(contentsOf: url))
    }

    func testMatchesPythonReferenceForBothVariants() throws {
        let fixture = try Self.loadFixture()
        XCTAssertGreaterThanOrEqual(fixture.cases.count, 20)
        XCTAssertEqual(fixture.words_per_paragraph, StoryFormatter.wordsPerParagraph)
        for testCase in fixture.cases {
            let small = StoryFormatter.content(fromDecodedOutput: testCase.input, variant: .small)
            let medium = StoryFormatter.content(fromDecodedOutput: testCase.input, variant: .medium)
            XCTAssertEqual(small, testCase.expected_small, "small: \(testCase.name)")
            XCTAssertEqual(medium, testCase.expected_medium, "medium: \(testCase.name)")
            // Byte-level too: String == uses canonical equivalence, the contract is bytes.
            XCTAssertEqual(Array(small.utf8), Array(testCase.expected_small.utf8), "small bytes: \(testCase.name)")
            XCTAssertEqual(
                Array(medium.utf8), Array(testCase.expected_medium.utf8),
                "medium bytes: "
                    + "\(testCase.name)")
        }
    }

    func testWhitespaceIsExactlyPythons() throws {
        let python = try Self.loadFixture().python_whitespace
        XCTAssertEqual(python.count, 29)
        // Python's list covers all code points; ours is checked on the whole BMP
        // (where all of Unicode's whitespace lives) and a stride over the rest,
        // which keeps the test fast in debug.
        var isPythonWhitespace = [Bool](repeating: false, count: 0x110000)
        for value in python { isPythonWhitespace[Int(value)] = true }
        var disagreements: [UInt32] = []
        for value in Array(UInt32(0)...0xFFFF) + Array(stride(from: UInt32(0x10000), through: 0x10FFFF, by: 251)) {
            guard let scalar = Unicode.Scalar(value) else { continue }  // surrogates
            if PythonWhitespace.contains(scalar) != isPythonWhitespace[Int(value)] {
                disagreements.append(value)
            }
        }
        XCTAssertEqual(disagreements, [])
    }

    // The behaviours the reference revealed, spelled out.

    func testEmptyAndBlankTextGiveTheBarePrefix() {
        for variant in StoryFormatter.Variant.allCases {
            XCTAssertEqual(StoryFormatter.content(fromDecodedOutput: "", variant: variant), "[Content]: ")
            XCTAssertEqual(StoryFormatter.content(fromDecodedOutput: " \n\u{3000}", variant: variant), "[Content]: ")
        }
    }

    func testSecondStoryMarkerCutsTheStory() {
        let text = "Prompt words Story: kept part. Story: dropped part."
        XCTAssertEqual(StoryFormatter.content(fromDecodedOutput: text, variant: .small), "[Content]: kept part.")
    }

    func testWithoutMarkerThePromptIsKept() {
        let text = "Write a short story.\nOnce upon a time."
        XCTAssertEqual(
            StoryFormatter.content(fromDecodedOutput: text, variant: .small),
            "[Content]: Write a short story. Once upon a time.")
    }

    func testTrailingWordsWithoutPeriodFormTheLastParagraph() {
        let first = Array(repeating: "w", count: 99) + ["end."]
        let text = (first + ["tail", "words"]).joined(separator: " ")
        let expected = "[Content]: " + first.joined(separator: " ") + "\n\n[Content]: tail words"
        XCTAssertEqual(StoryFormatter.content(fromDecodedOutput: text, variant: .small), expected)
        XCTAssertEqual(StoryFormatter.content(fromDecodedOutput: text, variant: .medium), expected)
    }

    func testParagraphNeedsOneHundredWordsBeforeAPeriodCloses() {
        let words = Array(repeating: "w.", count: 250)
        let paragraphs = StoryFormatter.paragraphs(of: Substring(words.joined(separator: " ")))
        XCTAssertEqual(paragraphs.map { $0.split(separator: " ").count }, [100, 100, 50])
    }

    func testMarkerFollowedByCombiningMarkIsStillAMarker() {
        // Swift's Character view would fuse ":" and U+0301; Python compares code points.
        let text = "Prompt Story:\u{301} x"
        XCTAssertEqual(StoryFormatter.content(fromDecodedOutput: text, variant: .small), "[Content]: \u{301} x")
    }

    func testPeriodFollowedByCombiningMarkDoesNotCloseAParagraph() {
        let text = (Array(repeating: "w", count: 100) + ["e.\u{301}", "x."]).joined(separator: " ")
        XCTAssertEqual(StoryFormatter.paragraphs(of: Substring(text)).count, 1)
    }
}
