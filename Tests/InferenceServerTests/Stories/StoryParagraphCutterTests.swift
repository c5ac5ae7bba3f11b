import Foundation
import XCTest

@testable import InferenceServer
@testable import ServiceTestSupport

/// The paragraphs handed out while a story is written are exactly `StoryFormatter`'s for the
/// finished text, however the text grows.
final class StoryParagraphCutterTests: XCTestCase {
    private func cutWhileGrowing(_ text: String, seed: UInt64) -> [String] {
        var generator = SplitMix64(seed: seed)
        var cutter = StoryParagraphCutter()
        var handedOut: [String] = []
        let scalars = Array(text.unicodeScalars)
        var end = 0
        while end < scalars.count {
            end = min(scalars.count, end + 1 + Int(generator.next() % 6))
            var prefix = String.UnicodeScalarView()
            prefix.append(contentsOf: scalars[..<end])
            handedOut += cutter.paragraphs(final: false, in: String(prefix))
        }
        handedOut += cutter.paragraphs(final: true, in: text)
        return handedOut
    }

    func testMatchesTheFormatterOnEveryReferenceCaseWhateverTheGrowth() throws {
        let fixture = try StoryFormatterTests.loadFixture()
        for testCase in fixture.cases {
            let expected = StoryFormatter.paragraphs(of: StoryFormatter.storyPart(of: testCase.input))
            for seed in 0..<2 as Range<UInt64> {
                XCTAssertEqual(
                    cutWhileGrowing(testCase.input, seed: seed), expected,
                    "\(testCase.name), seed "
                        + "\(seed)")
            }
        }
    }

    func testLongStoriesStreamParagraphsBeforeTheEnd() {
        let story =
            "Prompt. Story: "
            + (0..<3).map { p in (0..<100).map { $0 == 99 ? "end\(p)." : "w" }.joined(separator: " ") }
            .joined(separator: " ") + " tail words"
        var cutter = StoryParagraphCutter()
        // The first paragraph's closing word is not final until whitespace follows it.
        let firstEnd = story.range(of: "end0.")!.upperBound
        XCTAssertEqual(cutter.paragraphs(final: false, in: String(story[..<firstEnd])), [])
        let first = cutter.paragraphs(final: false, in: String(story[..<firstEnd]) + " ")
        XCTAssertEqual(first.count, 1)
        XCTAssertTrue(first[0].hasSuffix("end0."))
        XCTAssertEqual(cutter.paragraphs(final: false, in: story).count, 2)
        XCTAssertEqual(cutter.paragraphs(final: true, in: story), ["tail words"])
    }

    func testNothingIsHandedOutBeforeTheStoryStartIsKnown() {
        let words = (0..<100).map { $0 == 99 ? "stop." : "w" }.joined(separator: " ")
        var cutter = StoryParagraphCutter()
        XCTAssertEqual(
            cutter.paragraphs(final: false, in: words + " more"), [], "a later Story: could still move the start")
        // The story starts after the first Story:, so the words before it were never story.
        XCTAssertEqual(cutter.paragraphs(final: true, in: words + " more Story: real"), ["real"])
    }

    func testASecondStoryMarkerEndsTheStory() {
        var cutter = StoryParagraphCutter()
        XCTAssertEqual(cutter.paragraphs(final: false, in: "Story: one two Story: three"), ["one two"])
        XCTAssertTrue(cutter.storyEnded)
        XCTAssertEqual(cutter.paragraphs(final: true, in: "Story: one two Story: three four"), [])
    }
}
