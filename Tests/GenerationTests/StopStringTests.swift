import XCTest

@testable import Generation

final class StopStringTests: XCTestCase {
    func testFindsAStopSplitAcrossAppends() {
        let matcher = StopStringMatcher(["\n\n", "THE END"])
        var text = Array("Once upon a time THE E".utf8)
        XCTAssertNil(matcher.firstMatch(in: text, previousCount: 0))
        let checked = text.count
        text += Array("ND and more".utf8)
        let match = matcher.firstMatch(in: text, previousCount: checked)
        XCTAssertEqual(match?.stop, "THE END")
        XCTAssertEqual(match?.offset, 17)
    }

    func testTheEarliestOfSeveralStopsWins() {
        let matcher = StopStringMatcher(["b c", "a"])
        XCTAssertEqual(matcher.firstMatch(in: Array("xx b c a".utf8), previousCount: 0)?.stop, "b c")
    }

    func testHoldsBackWhatCouldBecomeAStop() {
        let matcher = StopStringMatcher(["THE END"])
        XCTAssertEqual(matcher.releasableCount(Array("story. THE".utf8)), 7)
        XCTAssertEqual(matcher.releasableCount(Array("story. T".utf8)), 7)
        XCTAssertEqual(matcher.releasableCount(Array("story.".utf8)), 6)
    }

    func testUTF8PrefixNeverSplitsACharacter() {
        let bytes = Array("a🙂".utf8)  // 1 + 4 bytes
        for cut in 1...4 { XCTAssertEqual(completeUTF8Prefix(bytes, end: 1 + cut), cut == 4 ? 5 : 1) }
        let e = Array("é".utf8)
        XCTAssertEqual(completeUTF8Prefix(e, end: 1), 0)
        XCTAssertEqual(completeUTF8Prefix(e, end: 2), 2)
        // An invalid lone continuation byte is released (it will decode as U+FFFD).
        XCTAssertEqual(completeUTF8Prefix([0x41, 0x80], end: 2), 2)
    }
}
