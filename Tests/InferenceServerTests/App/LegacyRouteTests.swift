import Foundation
import XCTest

@testable import InferenceServer
@testable import ServiceTestSupport

/// The old Flask services' routes, shape for shape (see shared/SEED-API.md).
final class LegacyRouteTests: AppTestCase {
    override func setUpWithError() throws {
        try startApp()
    }

    func testGenerateStoryAnswersStatusAndContentOnly() throws {
        let response = try post("/generate_story", #"{"Prompt":"Write a short story. Story:","Audience":"Children"}"#)
        XCTAssertEqual(response.status, 200, response.text)
        XCTAssertEqual(response.headers["Content-Type"], "application/json")
        XCTAssertNil(response.headers["Access-Control-Allow-Origin"])  // CORS is off unless --cors-origin
        let body = try json(response)
        XCTAssertEqual(Set(body.keys), ["Status", "Content"])
        XCTAssertEqual(body["Status"] as? Bool, true)
        XCTAssertEqual((body["Status"] as? NSNumber).map { String(cString: $0.objCType) }, "c")  // a JSON boolean
        let content = try XCTUnwrap(body["Content"] as? String)
        XCTAssertTrue(content.hasPrefix("[Content]: "), content)
        XCTAssertFalse(content.contains("Write a short story"), "the text before 'Story:' is dropped")
    }

    func testStoryUsesTheAudiencePresetsAndTheOldBudget() throws {
        let pipeline = tinyService
        let story = try LegacyStoryRequest.parse(Array(#"{"Prompt":"Once","Audience":"YOUNG"}"#.utf8))
        let request = try StoryGeneration.request(for: story, service: pipeline, timeout: 1)
        XCTAssertTrue(request.parameters.doSample)
        XCTAssertEqual(request.parameters.topP, 0.7)
        XCTAssertEqual(request.parameters.temperature, 0.7)
        XCTAssertEqual(request.parameters.repetitionPenalty, 1.2)
        XCTAssertEqual(request.parameters.topK, 50)
        XCTAssertEqual(request.parameters.eosTokenIDs, [512])
        // max_length 500 counting the prompt, capped by the tiny model's 64 positions.
        XCTAssertEqual(request.parameters.maxNewTokens, 64 - request.promptIDs.count)
        for (value, topP) in [("children", Float(0.9)), ("adult", 0.5), ("teen", 0.5), (nil, 0.5)] {
            let body = value.map { #"{"Prompt":"x","Audience":"\#($0)"}"# } ?? #"{"Prompt":"x"}"#
            let request = try StoryGeneration.request(
                for: LegacyStoryRequest.parse(Array(body.utf8)), service: pipeline, timeout: 1)
            XCTAssertEqual(request.parameters.topP, topP, value ?? "no audience")
        }
        XCTAssertEqual(StoryPresets.standard.preset(named: "adult")?.temperature, 0.3)
        XCTAssertEqual(StoryPresets.standard.preset(named: "children")?.temperature, 1.0)
    }

    func testMissingOrEmptyPromptIsTheOldError() throws {
        for body in [
            #"{"Prompt":""}"#, #"{"Audience":"adult"}"#, #"{"Prompt":null}"#, #"{"prompt":"lower-case key"}"#, "{}",
        ] {
            let response = try post("/generate_story", body)
            XCTAssertEqual(response.status, 400, body)
            XCTAssertEqual(try json(response) as NSDictionary, ["error": "No prompt provided"] as NSDictionary, body)
        }
    }

    func testBadBodiesAre400JSONWithoutStatus() throws {
        for body in [#"{"Prompt":"x","Audience":null}"#, #"{"Prompt":5}"#, "not json", "[1]", #"{"Prompt":"x""#, ""] {
            let response = try post("/generate_story", body)
            XCTAssertEqual(response.status, 400, body)
            let object = try json(response)
            XCTAssertEqual(Set(object.keys), ["error"], body)
            XCTAssertNotNil(object["error"] as? String)
        }
        let wrongMethod = try get("/generate_story")
        XCTAssertEqual(wrongMethod.status, 405)
        XCTAssertEqual(Set(try json(wrongMethod).keys), ["error"])
    }

    func testPromptLongerThanTheContextIs400() throws {
        let long = String(repeating: "word ", count: 200)
        let response = try post("/generate_story", #"{"Prompt":"\#(long)"}"#)
        XCTAssertEqual(response.status, 400)
        XCTAssertEqual(Set(try json(response).keys), ["error"])
    }

    func testTranslateAnswersContentAndStatusAndProtectsTags() throws {
        let text = "[Content]: The cat sleeps. The dog runs.\n\n[Content 2]: Birds sing."
        let response = try post(
            "/translate", #"{"Text":"\#(text.replacingOccurrences(of: "\n", with: "\\n"))","Tgt_lang":"spa_Latn"}"#)
        XCTAssertEqual(response.status, 200, response.text)
        let body = try json(response)
        XCTAssertEqual(Set(body.keys), ["Content", "Status"])
        XCTAssertEqual(body["Status"] as? Bool, true)
        let content = try XCTUnwrap(body["Content"] as? String)
        XCTAssertTrue(content.hasPrefix("[Content]: <spa_Latn> "), content)
        XCTAssertTrue(content.contains("\n\n[Content 2]: <spa_Latn> "), content)
        // One backend call for the whole text, sentences as separate segments, no tags sent.
        let batch = try XCTUnwrap(translator?.batches.last)
        XCTAssertEqual(batch.count, 1)
        XCTAssertEqual(batch[0].source, "eng_Latn")
        XCTAssertEqual(batch[0].texts, ["The cat sleeps.", "The dog runs.", "Birds sing."])
        XCTAssertFalse(batch[0].texts.contains { $0.contains("[") })
    }

    func testTranslateErrorsHaveStatusFalse() throws {
        let cases: [(String, Int, String?)] = [
            (#"{"Text":"","Tgt_lang":"spa_Latn"}"#, 400, "No text provided"),
            (#"{"Tgt_lang":"spa_Latn"}"#, 400, "No text provided"),
            (#"{"Text":"hi","Tgt_lang":"klingon"}"#, 400, nil),
            (#"{"Text":"hi","Tgt_lang":"spa_Latn","Src_lang":"xx"}"#, 400, nil),
            (#"{"Text":"hi"}"#, 400, nil),
            (#"{"Text":7,"Tgt_lang":"spa_Latn"}"#, 400, nil),
            ("garbage", 400, nil),
        ]
        for (body, status, message) in cases {
            let response = try post("/translate", body)
            XCTAssertEqual(response.status, status, body)
            let object = try json(response)
            XCTAssertEqual(Set(object.keys), ["error", "Status"], body)
            XCTAssertEqual(object["Status"] as? Bool, false, body)
            if let message { XCTAssertEqual(object["error"] as? String, message) }
        }
        translator?.failWith = FakeBackendFailure()
        let failed = try post("/translate", #"{"Text":"hi","Tgt_lang":"spa_Latn"}"#)
        XCTAssertEqual(failed.status, 500)
        XCTAssertEqual(try json(failed)["Status"] as? Bool, false)
    }

    func testCORSPreflightIsAnsweredForAnAllowedOrigin() throws {
        app.shutdown(gracePeriod: 0)
        try startApp { $0.corsOrigins = ["http://frontend"] }
        let response = try TestClient.request(
            port: port, "OPTIONS", "/generate_story",
            headers: ["Origin": "http://frontend", "Access-Control-Request-Method": "POST"])
        XCTAssertEqual(response.status, 204)
        XCTAssertEqual(response.headers["Access-Control-Allow-Origin"], "http://frontend")
    }

    func testStoryVariantDetection() {
        XCTAssertEqual(LegacyText.formatStory("Prompt. Story: once upon", variant: .small), "[Content]: once upon")
        XCTAssertEqual(LegacyText.formatStory("### Prompt: x\n### Story: told", variant: .medium), "[Content]: told")
        let words = (1...120).map { $0 == 105 ? "end." : "w" }.joined(separator: " ")
        let formatted = LegacyText.formatStory("Story: " + words, variant: .small)
        XCTAssertEqual(formatted.components(separatedBy: "[Content]: ").count - 1, 2)
    }
}
