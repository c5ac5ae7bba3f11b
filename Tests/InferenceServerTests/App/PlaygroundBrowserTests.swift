import Foundation
import XCTest

@testable import InferenceServer
@testable import ServiceTestSupport

/// The playground page in a real browser (Debian's Chromium, headless): a user writes a prompt,
/// picks a language and sees the translated paragraphs stream in; free text is translated.
final class PlaygroundBrowserTests: StoryAppTestCase {
    /// .ci/run installs Chromium and sets OCTAVO_REQUIRE_BROWSER=1: there a missing browser fails.
    func browser() throws -> HeadlessChromium {
        do {
            return try HeadlessChromium()
        } catch HeadlessChromium.Failure.missing(let path) {
            if ProcessInfo.processInfo.environment["OCTAVO_REQUIRE_BROWSER"] == "1" {
                XCTFail("\(path) is missing: apt-get install chromium")
            }
            throw XCTSkip("\(path) is not installed")
        }
    }

    func testPageIsServedWithoutTheAPIKeyAndIsSelfContained() throws {
        try startApp { $0.apiKeys = ["sk-test"] }
        let page = try get("/")
        XCTAssertEqual(page.status, 200)
        XCTAssertEqual(page.headers["Content-Type"], "text/html; charset=utf-8")
        XCTAssertTrue(page.text.contains("/v1/stories"))
        XCTAssertFalse(page.text.contains("http://") || page.text.contains("https://"), "the page must work offline")
        XCTAssertEqual(try get("/v1/models").status, 401)
    }

    func testAStoryStreamsIntoThePageParagraphByParagraph() throws {
        try startStoryApp(delay: 0.004)
        let chromium = try browser()
        try chromium.open("http://127.0.0.1:\(port)/")
        try chromium.waitUntil(
            "document.getElementById('language').options.length > 1 "
                + "&& document.getElementById('story-model').options.length >= 2", timeout: 30)
        _ = try chromium.evaluate(
            """
            document.getElementById('prompt').value = 'Write. Story:';
            document.getElementById('story-model').value = 'scripted';
            document.getElementById('language').value = 'spa_Latn';
            document.getElementById('write').click();
            true
            """)
        try chromium.waitUntil("document.querySelectorAll('#story .paragraph').length > 0", timeout: 30)
        XCTAssertNotEqual(
            try chromium.evaluate("document.body.dataset.storyDone") as? String, "true",
            "the first paragraph should show while the story is still being written")
        try chromium.waitUntil("document.body.dataset.storyDone === 'true'", timeout: 60)
        let shown =
            try chromium.evaluate(
                "[...document.querySelectorAll('#story .paragraph')].map(p => p.firstChild.textContent)") as? [String]
        XCTAssertEqual(shown, try expectedParagraphs.map { try fakeTranslation($0, to: "spa_Latn") })
        let originals =
            try chromium.evaluate("[...document.querySelectorAll('#story .original')].map(p => p.textContent)")
            as? [String]
        XCTAssertEqual(originals, expectedParagraphs)
        let meta = try chromium.evaluate("document.getElementById('story-meta').textContent") as? String
        XCTAssertTrue(meta?.contains("4 paragraph(s)") == true, meta ?? "")

        let png = try chromium.screenshot()
        XCTAssertEqual(Array(png.prefix(4)), [0x89, 0x50, 0x4E, 0x47])
        if let path = ProcessInfo.processInfo.environment["OCTAVO_PLAYGROUND_SCREENSHOT"] {
            try png.write(to: URL(fileURLWithPath: path))
        }
    }

    func testFreeTextIsTranslatedInThePage() throws {
        try startStoryApp()
        let chromium = try browser()
        try chromium.open("http://127.0.0.1:\(port)/")
        try chromium.waitUntil("document.getElementById('target').options.length > 1", timeout: 30)
        _ = try chromium.evaluate(
            """
            document.getElementById('source-text').value = 'one two three';
            document.getElementById('target').value = 'deu_Latn';
            document.getElementById('translate').click();
            true
            """)
        try chromium.waitUntil("!document.getElementById('translation').hidden", timeout: 30)
        XCTAssertEqual(
            try chromium.evaluate("document.getElementById('translation').textContent") as? String,
            FakeTranslationBackend.translate("one two three", to: "deu_Latn"))
    }
}
