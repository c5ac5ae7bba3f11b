import Foundation
import Tokenizer
import XCTest

@testable import HTTPServer
@testable import InferenceServer
@testable import ServiceTestSupport

/// `LegacyTranslationText` and `LegacyTranslationPlan` on stories shaped like
/// the platform's, with a fake translator that marks every sentence it sees.
final class LegacyTranslationTextTests: XCTestCase {
    /// A story as the Grok prompt asks for it: title, numbered contents, a decision.
    static let branchingStory = """
        [Title]: The Lantern of Willow Creek

        [Content]: Once upon a time, in a small village, lived Ana and Leo. They loved to explore the woods. \
        One evening, Mr. Brown told them about a magic lantern.

        [Content 2]: The next morning, the children set off. "Stay together!" their mother called. \
        They walked for hours... until they reached the old bridge.

        [Option 1]: Cross the old bridge, even though it looks fragile.
        [Option 2]: Follow the river to find another way.

        [Option 1 Content]: Ana stepped onto the bridge. It creaked, but it held.

        [Option 2 Content]: They followed the river for a mile. Soon they found a boat.

        [Option 1 (Continuing from chosen option)]: With the lantern in hand, they returned home. The village celebrated!
        """

    /// The fake model: visibly transformed, so the output shows what was translated.
    static func fakeTranslate(_ sentences: [String]) -> [String] {
        sentences.map { "<\($0.uppercased())>" }
    }

    static let limit = SentenceLengthLimit.characters(200)

    func tags(in text: String) -> [String] {
        LegacyTranslationText.segments(of: text).compactMap {
            if case .tag(let tag) = $0 { return tag } else { return nil }
        }
    }

    // MARK: - Segments

    func testSegmentsTileTheTextAndFindEveryTag() {
        let segments = LegacyTranslationText.segments(of: Self.branchingStory)
        let rebuilt = segments.map { segment -> String in
            switch segment {
            case .tag(let tag): return tag
            case .text(let text): return text
            }
        }.joined()
        XCTAssertEqual(rebuilt, Self.branchingStory)
        XCTAssertEqual(
            tags(in: Self.branchingStory),
            [
                "[Title]:", "[Content]:", "[Content 2]:", "[Option 1]:", "[Option 2]:", "[Option 1 Content]:",
                "[Option 2 Content]:", "[Option 1 (Continuing from chosen option)]:",
            ])
    }

    func testWhatCountsAsATag() {
        let text =
            "[Content] a [content 3]: b [Option 12 Content]: c [TITLE]: d [Contents] e [Optional] f "
            + "[laughs] g [ Content] h [1] i [Content j [Content\n] k [[Content]] l [Content]:: m"
        XCTAssertEqual(
            tags(in: text),
            [
                "[Content]", "[content 3]:", "[Option 12 Content]:", "[TITLE]:",
                "[Content]", "[Content]:",
            ])
        let longName = "[Content " + String(repeating: "x", count: 120) + "]"
        XCTAssertEqual(tags(in: longName), [])
        XCTAssertEqual(LegacyTranslationText.segments(of: ""), [])
        XCTAssertEqual(LegacyTranslationText.segments(of: "No tags here."), [.text("No tags here.")])
    }

    // MARK: - Plan and render

    func testBranchingStoryRoundTrip() throws {
        let plan = LegacyTranslationPlan(text: Self.branchingStory, limit: Self.limit)
        XCTAssertEqual(
            plan.sourceSentences,
            [
                "The Lantern of Willow Creek",
                "Once upon a time, in a small village, lived Ana and Leo.",
                "They loved to explore the woods.",
                "One evening, Mr. Brown told them about a magic lantern.",
                "The next morning, the children set off.",
                "\"Stay together!\" their mother called.",
                "They walked for hours... until they reached the old bridge.",
                "Cross the old bridge, even though it looks fragile.",
                "Follow the river to find another way.",
                "Ana stepped onto the bridge.",
                "It creaked, but it held.",
                "They followed the river for a mile.",
                "Soon they found a boat.",
                "With the lantern in hand, they returned home.",
                "The village celebrated!",
            ])
        let output = try plan.render(translations: Self.fakeTranslate(plan.sourceSentences))
        XCTAssertEqual(
            output,
            """
            [Title]: <THE LANTERN OF WILLOW CREEK>

            [Content]: <ONCE UPON A TIME, IN A SMALL VILLAGE, LIVED ANA AND LEO.> <THEY LOVED TO EXPLORE THE WOODS.> \
            <ONE EVENING, MR. BROWN TOLD THEM ABOUT A MAGIC LANTERN.>

            [Content 2]: <THE NEXT MORNING, THE CHILDREN SET OFF.> <"STAY TOGETHER!" THEIR MOTHER CALLED.> \
            <THEY WALKED FOR HOURS... UNTIL THEY REACHED THE OLD BRIDGE.>

            [Option 1]: <CROSS THE OLD BRIDGE, EVEN THOUGH IT LOOKS FRAGILE.>

            [Option 2]: <FOLLOW THE RIVER TO FIND ANOTHER WAY.>

            [Option 1 Content]: <ANA STEPPED ONTO THE BRIDGE.> <IT CREAKED, BUT IT HELD.>

            [Option 2 Content]: <THEY FOLLOWED THE RIVER FOR A MILE.> <SOON THEY FOUND A BOAT.>

            [Option 1 (Continuing from chosen option)]: <WITH THE LANTERN IN HAND, THEY RETURNED HOME.> \
            <THE VILLAGE CELEBRATED!>
            """)
        // Tags byte-identical and in order.
        XCTAssertEqual(Array(tags(in: output).joined().utf8), Array(tags(in: Self.branchingStory).joined().utf8))
    }

    func testEverySentenceIsSentOnceAndBlankSegmentsAreNotSent() throws {
        let text = "[Title]: Repeat\n\n[Content]:   \n\n[Content 2]: Same. Same.\n[Option 1]:[Option 2]: Go."
        let plan = LegacyTranslationPlan(text: text, limit: Self.limit)
        XCTAssertEqual(plan.sourceSentences, ["Repeat", "Same.", "Same.", "Go."])
        XCTAssertTrue(
            plan.sourceSentences.allSatisfy { !$0.isEmpty && $0.trimmingCharacters(in: .whitespacesAndNewlines) == $0 })
        let translations = plan.sourceSentences.indices.map { "t\($0)" }
        XCTAssertEqual(
            try plan.render(translations: translations),
            "[Title]: t0\n\n[Content]:\n\n[Content 2]: t1 t2\n\n[Option 1]:\n\n[Option 2]: t3")
    }

    func testGPT2StoryComesBackUnchangedUnderIdentityTranslation() throws {
        // What StoryFormatter produces: only "[Content]: " tags, single spaces.
        let words = (1...260).map { $0 % 9 == 0 ? "Word\($0)." : "Word\($0)" }
        let story = StoryFormatter.content(fromDecodedOutput: "Story: " + words.joined(separator: " "), variant: .small)
        XCTAssertEqual(tags(in: story).count, 3)
        let plan = LegacyTranslationPlan(text: story, limit: .characters(80))
        XCTAssertTrue(plan.sourceSentences.allSatisfy { $0.unicodeScalars.count <= 80 })
        XCTAssertEqual(try plan.render(translations: plan.sourceSentences), story)
    }

    func testTextBeforeTheFirstTagAndParagraphsInsideABody() throws {
        let text =
            "Intro line.\n[Content]:\nFirst paragraph. Still first.\n\nSecond paragraph.\n\n\n[Content 2]: "
            + "End."
        let plan = LegacyTranslationPlan(text: text, limit: Self.limit)
        XCTAssertEqual(
            plan.sourceSentences, ["Intro line.", "First paragraph.", "Still first.", "Second paragraph.", "End."])
        XCTAssertEqual(
            try plan.render(translations: Self.fakeTranslate(plan.sourceSentences)),
            "<INTRO LINE.>\n\n[Content]: <FIRST PARAGRAPH.> <STILL FIRST.>\n\n<SECOND "
                + "PARAGRAPH.>\n\n[Content 2]: <END.>")
    }

    func testLongSentencesAreCutForTheModelAndRejoined() throws {
        let long = "The fox ran " + String(repeating: "far and ", count: 40) + "home; then it slept."
        let plan = LegacyTranslationPlan(text: "[Content]: " + long, limit: .characters(100))
        XCTAssertGreaterThan(plan.sourceSentences.count, 1)
        XCTAssertTrue(plan.sourceSentences.allSatisfy { $0.unicodeScalars.count <= 100 })
        XCTAssertEqual(try plan.render(translations: plan.sourceSentences), "[Content]: " + long)
    }

    func testTokenLimitUsesTheCountingClosure() {
        let plan = LegacyTranslationPlan(
            text: "[Content]: one two three four five six seven.",
            limit: .tokens(3, count: { $0.split(separator: " ").count }))
        XCTAssertEqual(plan.sourceSentences, ["one two three", "four five six", "seven."])
    }

    func testEmptyAndTagOnlyTexts() throws {
        XCTAssertEqual(LegacyTranslationPlan(text: "", limit: Self.limit).sourceSentences, [])
        XCTAssertEqual(try LegacyTranslationPlan(text: "", limit: Self.limit).render(translations: []), "")
        let tagsOnly = LegacyTranslationPlan(text: "  [Title]:\n\n[Content]: ", limit: Self.limit)
        XCTAssertEqual(tagsOnly.sourceSentences, [])
        XCTAssertEqual(try tagsOnly.render(translations: []), "[Title]:\n\n[Content]:")
    }

    func testWrongTranslationCountIsAServerError() {
        let plan = LegacyTranslationPlan(text: "[Content]: One. Two.", limit: Self.limit)
        XCTAssertThrowsError(try plan.render(translations: ["Uno."])) { error in
            XCTAssertEqual(error as? LegacyTranslationError, .translationCountMismatch(expected: 2, got: 1))
            XCTAssertEqual((error as? HTTPResponseError)?.status, .internalServerError)
        }
    }

    func testRandomMarkupKeepsEveryTagAndSentence() throws {
        let pieces = [
            "[Content]: ", "[Content 2]:", "[Option 1]: ", "[Title]:", "[laughs] ", "[", "]", "Hello. ",
            "world", "! ", "\n", "\n\n", " ", "Mr. X. ", "你好。", "…", ":", "e\u{301}",
        ]
        var state: UInt64 = 7
        for round in 0..<200 {
            var text = ""
            for _ in 0..<(round % 25) {
                state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
                text += pieces[Int(state >> 33) % pieces.count]
            }
            let plan = LegacyTranslationPlan(text: text, limit: .characters(1 + round % 15))
            let output = try plan.render(translations: Self.fakeTranslate(plan.sourceSentences))
            XCTAssertEqual(tags(in: output), tags(in: text), "round \(round): \(text.debugDescription)")
            XCTAssertTrue(plan.sourceSentences.allSatisfy { !$0.isEmpty }, "round \(round)")
        }
    }
}
