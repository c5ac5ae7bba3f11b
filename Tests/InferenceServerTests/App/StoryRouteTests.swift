import Foundation
import XCTest

@testable import InferenceServer
@testable import JobStore
@testable import ServiceTestSupport

/// `POST /v1/stories`: paragraphs as the old services cut them, translated on the translation
/// model while the story model writes, streamed in order.
final class StoryRouteTests: StoryAppTestCase {
    func testEnglishStoryHasTheOldServicesParagraphsAndNoTranslation() throws {
        try startStoryApp()
        let reply = try json(
            post("/v1/stories", #"{"model":"scripted","prompt":"Write. Story:","audience":"children","seed":3}"#))
        let paragraphs = try XCTUnwrap(reply["paragraphs"] as? [[String: Any]])
        XCTAssertEqual(paragraphs.map { $0["text"] as? String }, expectedParagraphs)
        XCTAssertEqual(paragraphs.map { $0["index"] as? Int }, [0, 1, 2, 3])
        XCTAssertTrue(paragraphs.allSatisfy { $0["translation"] is NSNull })
        let content = "[Content]: " + expectedParagraphs.joined(separator: "\n\n[Content]: ")
        XCTAssertEqual(reply["content"] as? String, content)
        XCTAssertEqual(reply["original_content"] as? String, content)
        XCTAssertEqual(reply["language"] as? String, "eng_Latn")
        XCTAssertEqual(reply["audience"] as? String, "children")
        XCTAssertTrue(reply["translator"] is NSNull)
        XCTAssertEqual(reply["seed"] as? Int, 3)
        XCTAssertEqual(translator?.batches.count, 0)
    }

    func testTheSameStoryThroughTheOldRouteHasTheSameContent() throws {
        try startStoryApp()
        let story = try json(post("/v1/stories", #"{"model":"scripted","prompt":"Write. Story:"}"#))
        let legacy = try json(post("/generate_story", #"{"model":"scripted","Prompt":"Write. Story:"}"#))
        XCTAssertEqual(story["original_content"] as? String, legacy["Content"] as? String)
    }

    func testEachParagraphIsTranslatedAndTheContentIsInTheTargetLanguage() throws {
        try startStoryApp()
        let reply = try json(
            post("/v1/stories", #"{"model":"scripted","prompt":"Write. Story:","language":"spa_Latn"}"#))
        let paragraphs = try XCTUnwrap(reply["paragraphs"] as? [[String: Any]])
        let expected = try expectedParagraphs.map { try fakeTranslation($0, to: "spa_Latn") }
        XCTAssertEqual(paragraphs.map { $0["translation"] as? String }, expected)
        XCTAssertEqual(reply["content"] as? String, "[Content]: " + expected.joined(separator: "\n\n[Content]: "))
        XCTAssertEqual(reply["translator"] as? String, "fake-nllb")
        // One translation call per paragraph, each the paragraph's sentences from English.
        let batches = try XCTUnwrap(translator?.batches)
        XCTAssertEqual(batches.count, 4)
        XCTAssertTrue(batches.allSatisfy { $0.count == 1 && $0[0].source == "eng_Latn" && $0[0].target == "spa_Latn" })
        let timings = try XCTUnwrap(reply["timings"] as? [String: Any])
        XCTAssertNotNil(timings["translation_ms"] as? Double)
        XCTAssertGreaterThanOrEqual(
            timings["total_ms"] as? Double ?? 0, timings["generation_ms"] as? Double ?? .infinity)
    }

    func testStreamingSendsEachTranslatedParagraphWhileTheStoryIsStillBeingWritten() throws {
        try startStoryApp(delay: 0.004)
        let client = try TestClient(port: port, timeout: 30)
        let body = #"{"model":"scripted","prompt":"Write. Story:","language":"fra_Latn","stream":true}"#
        client.send(
            "POST /v1/stories HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
                + "Content-Length: \(body.utf8.count)\r\n\r\n" + body)
        let head = try client.readHead()
        XCTAssertEqual(head.status, 200)
        var text = ""
        var passesAtFirstParagraph: Int?
        while let chunk = try client.readChunk() {
            text += String(decoding: chunk, as: UTF8.self)
            if passesAtFirstParagraph == nil, text.contains("event: paragraph") {
                passesAtFirstParagraph = scripted.forwardPasses
            }
        }
        // The first translated paragraph arrived long before the model wrote its last token.
        let total = scripted.script.count + 1
        XCTAssertLessThan(try XCTUnwrap(passesAtFirstParagraph), total / 2, "paragraph 0 waited for the whole story")

        let events = SSE.parse(text)
        XCTAssertEqual(events.map(\.event), ["paragraph", "paragraph", "paragraph", "paragraph", "done"])
        let streamed = events.dropLast().compactMap(SSE.object)
        XCTAssertEqual(streamed.map { $0["index"] as? Int }, [0, 1, 2, 3])
        XCTAssertEqual(streamed.map { $0["text"] as? String }, expectedParagraphs)
        XCTAssertEqual(
            streamed.map { $0["translation"] as? String },
            try expectedParagraphs.map { try fakeTranslation($0, to: "fra_Latn") })
        let done = try XCTUnwrap(SSE.object(events.last!))
        XCTAssertEqual((done["paragraphs"] as? [Any])?.count, 4)
    }

    func testAStoryJobSendsParagraphEventsAndStoresTheReply() throws {
        try startStoryApp(jobs: true)
        let accepted = try post(
            "/v1/jobs", #"{"type":"story","model":"scripted","prompt":"Write. Story:","language":"spa_Latn"}"#)
        XCTAssertEqual(accepted.status, 202, accepted.text)
        let id = try XCTUnwrap(try json(accepted)["id"] as? String)
        let events = SSE.parse(try get("/v1/jobs/\(id)/events").text)
        let paragraphs = events.filter { $0.event == "paragraph" }.compactMap(SSE.object)
        XCTAssertEqual(paragraphs.map { $0["index"] as? Int }, [0, 1, 2, 3], "\(events.map(\.event))")
        XCTAssertEqual(
            paragraphs.map { $0["translation"] as? String },
            try expectedParagraphs.map { try fakeTranslation($0, to: "spa_Latn") })
        XCTAssertEqual(events.last?.event, "done")
        let result = try XCTUnwrap(SSE.object(events.last!)?["result"] as? [String: Any])
        XCTAssertEqual((result["paragraphs"] as? [Any])?.count, 4)
        XCTAssertEqual(result["language"] as? String, "spa_Latn")
        // The old services' body still makes the old reply.
        let legacy = try post("/v1/jobs", #"{"type":"story","model":"scripted","Prompt":"Write. Story:"}"#)
        let legacyID = try XCTUnwrap(try json(legacy)["id"] as? String)
        let legacyEvents = SSE.parse(try get("/v1/jobs/\(legacyID)/events").text)
        let legacyResult = try XCTUnwrap(SSE.object(legacyEvents.last!)?["result"] as? [String: Any])
        XCTAssertEqual(Set(legacyResult.keys), ["Status", "Content"])
        try assertOpenAIError(
            post("/v1/jobs", #"{"type":"story","prompt":"x","audience":"teen"}"#), status: 400,
            mentions: "adult, children, young")
    }

    func testStructuredFieldsBuildThePlatformsPrompt() throws {
        try startStoryApp()
        let reply = try json(
            post("/v1/stories", #"{"model":"scripted","genre":"fantasy","protagonists":"Ana and Leo","gender":"girl"}"#)
        )
        let prompt =
            "### Prompt: Write a short story in the genre fantasy for a girl where the protagonists are "
            + "Ana and Leo.\n"
            + "### Genre: fantasy\n### Story:"
        XCTAssertEqual((reply["usage"] as? [String: Any])?["prompt_tokens"] as? Int, tinyService.encode(prompt).count)
        XCTAssertEqual((reply["paragraphs"] as? [Any])?.count, 4)
    }

    func testErrorsSayWhatToDo() throws {
        try startStoryApp()
        try assertOpenAIError(
            post("/v1/stories", #"{"model":"scripted","prompt":"x","audience":"teen"}"#), status: 400,
            mentions: "adult, children, young")
        try assertOpenAIError(
            post("/v1/stories", #"{"model":"scripted","prompt":"x","language":"spa_latn"}"#), status: 400,
            mentions: "spa_Latn")
        try assertOpenAIError(
            post("/v1/stories", #"{"model":"scripted","prompt":"x","language":"xyz_Abcd"}"#), status: 400,
            mentions: "xyz_Abcd")
        try assertOpenAIError(post("/v1/stories", #"{"model":"scripted"}"#), status: 400, mentions: "prompt")
        try assertOpenAIError(
            post("/v1/stories", #"{"prompt":"x","genre":"y","protagonists":"z"}"#), status: 400,
            mentions: "not both")
        try assertOpenAIError(
            post("/v1/stories", #"{"prompt":"x","max_length":9,"max_new_tokens":3}"#), status: 400,
            mentions: "not both")
        try assertOpenAIError(
            post("/v1/stories", #"{"prompt":"x","translator":"nope","language":"spa_Latn"}"#), status: 404)
        let long = String(repeating: "word ", count: 200)
        try assertOpenAIError(
            post("/v1/stories", #"{"model":"tiny","prompt":"\#(long)"}"#), status: 400,
            code: "context_length_exceeded")
    }

    func testATranslationWithNoTranslatorLoadedIsAClearError() throws {
        try startStoryApp(translation: false)
        try assertOpenAIError(
            post("/v1/stories", #"{"model":"scripted","prompt":"x","language":"spa_Latn"}"#), status: 400,
            mentions: "--model NAME=NLLB_FOLDER")
        XCTAssertEqual(try post("/v1/stories", #"{"model":"scripted","prompt":"Story:"}"#).status, 200)
    }

    func testAModelFolderMayBringItsOwnPresets() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("presets-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        XCTAssertEqual(try StoryPresets.forModelFolder(folder), .standard)
        let file = folder.appendingPathComponent("story_presets.json")
        try Data(
            #"{"Toddlers": {"top_p": 0.95, "temperature": 1.1, "repetition_penalty": 1.3, "max_length": 200}}"#.utf8
        ).write(to: file)
        let presets = try StoryPresets.forModelFolder(folder)
        XCTAssertEqual(presets.names, ["toddlers"])
        XCTAssertEqual(presets.fallback, "toddlers")
        XCTAssertEqual(presets.preset(named: "TODDLERS")?.topP, 0.95)
        try Data(#"{"kids": {"top_p": 2, "temperature": 1, "repetition_penalty": 1, "max_length": 10}}"#.utf8).write(
            to: file)
        XCTAssertThrowsError(try StoryPresets.forModelFolder(folder)) { error in
            XCTAssertTrue("\(error)".contains("story_presets.json"), "\(error)")
        }
    }
}
