import Foundation
import XCTest

@testable import InferenceServer
@testable import ServiceTestSupport

/// `/v1/generate`, `/v1/translate`, `/v1/languages`, `/v1/tokenize`, `/v1/detokenize`.
final class NativeRouteTests: AppTestCase {
    override func setUpWithError() throws {
        try startApp()
    }

    func testGenerateGreedyGivesTransformersIdsTimingsAndUsage() throws {
        let prompt = try AppFixtures.reference().prompts[1]
        let response = try post("/v1/generate", #"{"prompt":"\#(prompt.text)","max_new_tokens":6,"greedy":true}"#)
        XCTAssertEqual(response.status, 200, response.text)
        let body = try json(response)
        XCTAssertEqual(body["prompt_ids"] as? [Int], prompt.ids)
        XCTAssertEqual(body["generated_ids"] as? [Int], Array(prompt.greedy.prefix(6)))
        XCTAssertEqual(body["finish_reason"] as? String, "length")
        XCTAssertTrue(body["stop"] is NSNull)
        XCTAssertNotNil(body["seed"] as? NSNumber)
        let timings = try XCTUnwrap(body["timings"] as? [String: Any])
        XCTAssertEqual(timings["generated_tokens"] as? Int, 6)
        XCTAssertNotNil(timings["time_to_first_token_ms"] as? Double)
        XCTAssertEqual((body["usage"] as? [String: Int])?["completion_tokens"], 6)
    }

    func testGenerateOptionsFollowTheCLI() throws {
        // generation_config.json of the tiny model says do_sample and max_length 50.
        let defaults = try json(try post("/v1/generate", #"{"prompt":"Once upon a time"}"#))
        XCTAssertEqual((defaults["prompt_ids"] as? [Int])!.count + (defaults["generated_ids"] as? [Int])!.count, 50)
        let seeded =
            #"{"prompt":"Once upon a time","max_new_tokens":8,"seed":3,"top_k":20,"top_p":0.9,"min_p":0.01,"temperature":0.8,"repetition_penalty":1.3,"no_repeat_ngram_size":2,"presence_penalty":0.1,"frequency_penalty":0.1}"#
        let first = try json(try post("/v1/generate", seeded))
        let second = try json(try post("/v1/generate", seeded))
        XCTAssertEqual(first["generated_ids"] as? [Int], second["generated_ids"] as? [Int])
        XCTAssertEqual(first["seed"] as? Int, 3)
        let stopped = try json(
            try post("/v1/generate", #"{"prompt":"Once upon a time","max_new_tokens":10,"greedy":true,"stop":"@"}"#))
        XCTAssertEqual(stopped["finish_reason"] as? String, "stop")
        XCTAssertEqual(stopped["stop"] as? String, "@")
        let ids = try json(
            try post("/v1/generate", #"{"prompt_ids":[345,452,220,500,256,387],"max_length":8,"greedy":true}"#))
        XCTAssertEqual((ids["generated_ids"] as? [Int])?.count, 2)
    }

    func testGenerateStreamsTokenEventsThenDone() throws {
        let response = try post(
            "/v1/generate", #"{"prompt":"Once upon a time","max_new_tokens":5,"greedy":true,"stream":true}"#)
        XCTAssertEqual(response.headers["Content-Type"], "text/event-stream")
        let events = SSE.parse(response.text)
        XCTAssertEqual(events.map(\.event), ["token", "token", "token", "token", "token", "done"])
        let tokens = events.dropLast().compactMap { SSE.object($0)?["id"] as? Int }
        let done = try XCTUnwrap(SSE.object(events[5]))
        XCTAssertEqual(done["generated_ids"] as? [Int], tokens)
        XCTAssertEqual(
            events.dropLast().compactMap { SSE.object($0)?["text"] as? String }.joined(), done["text"] as? String)
    }

    func testGenerateErrors() throws {
        try assertOpenAIError(
            try post("/v1/generate", #"{"prompt":"x","greedy":true,"sample":true}"#), status: 400, mentions: "greedy")
        try assertOpenAIError(
            try post("/v1/generate", #"{"prompt":"x","max_new_tokens":2,"max_length":3}"#), status: 400)
        try assertOpenAIError(try post("/v1/generate", #"{"prompt":"x","top_k":-1}"#), status: 400, mentions: "'top_k'")
        try assertOpenAIError(try post("/v1/generate", #"{"prompt":"x","seed":-1}"#), status: 400, mentions: "'seed'")
        try assertOpenAIError(
            try post("/v1/generate", #"{"prompt":"x","prompt_ids":[1]}"#), status: 400, mentions: "'prompt'")
        try assertOpenAIError(
            try post("/v1/generate", #"{"prompt":"x","model":"none"}"#), status: 404, code: "model_not_found")
        try assertOpenAIError(
            try post("/v1/generate", #"{"prompt":"x","repetition_penalty":0}"#), status: 400,
            mentions: "'repetition_penalty'")
    }

    func testTranslateTextsWithTheBackend() throws {
        let response = try post(
            "/v1/translate", #"{"texts":["hello big world","good day"],"target":"spa_Latn","beams":2}"#)
        XCTAssertEqual(response.status, 200, response.text)
        let body = try json(response)
        XCTAssertEqual(body["translations"] as? [String], ["<spa_Latn> world big hello", "<spa_Latn> day good"])
        XCTAssertEqual(body["source"] as? String, "eng_Latn")
        XCTAssertEqual(body["model"] as? String, "fake-nllb")
        let sent = try XCTUnwrap(translator?.batches.last?.first)
        XCTAssertEqual(
            sent,
            TranslationRequest(
                texts: ["hello big world", "good day"], source: "eng_Latn", target: "spa_Latn", beams: 2))
        let single = try json(try post("/v1/translate", #"{"text":"a b","source":"fra_Latn","target":"deu_Latn"}"#))
        XCTAssertEqual(single["translations"] as? [String], ["<deu_Latn> b a"])
    }

    func testTranslateStreamsOneEventPerText() throws {
        let response = try post("/v1/translate", #"{"texts":["a b","c"],"target":"fra_Latn","stream":true}"#)
        let events = SSE.parse(response.text)
        XCTAssertEqual(events.map(\.event), ["translation", "translation", "done"])
        XCTAssertEqual(SSE.object(events[1])?["text"] as? String, "<fra_Latn> c")
        XCTAssertEqual(SSE.object(events[2])?["translations"] as? [String], ["<fra_Latn> b a", "<fra_Latn> c"])
    }

    func testTranslateErrors() throws {
        try assertOpenAIError(
            try post("/v1/translate", #"{"texts":["a"],"target":"xx_Yyyy"}"#), status: 400,
            code: "unsupported_language", mentions: "xx_Yyyy")
        try assertOpenAIError(try post("/v1/translate", #"{"texts":["a"]}"#), status: 400, mentions: "'target'")
        try assertOpenAIError(try post("/v1/translate", #"{"target":"spa_Latn"}"#), status: 400, mentions: "'texts'")
        try assertOpenAIError(
            try post("/v1/translate", #"{"texts":[],"target":"spa_Latn"}"#), status: 400, mentions: "'texts'")
        try assertOpenAIError(
            try post("/v1/translate", #"{"texts":["a"],"target":"spa_Latn","beams":0}"#), status: 400,
            mentions: "'beams'")
        try assertOpenAIError(
            try post("/v1/translate", #"{"texts":["a"],"target":"spa_Latn","model":"tiny"}"#), status: 400)
        translator?.failWith = FakeBackendFailure()
        try assertOpenAIError(
            try post("/v1/translate", #"{"texts":["a"],"target":"spa_Latn"}"#), status: 500,
            mentions: "failed on purpose")
    }

    func testLanguages() throws {
        let body = try json(try get("/v1/languages"))
        XCTAssertEqual(body["model"] as? String, "fake-nllb")
        XCTAssertEqual(body["languages"] as? [String], ["eng_Latn", "spa_Latn", "fra_Latn", "deu_Latn"])
        XCTAssertEqual(
            body["names"] as? [String: String],
            ["eng_Latn": "English", "spa_Latn": "Spanish", "fra_Latn": "French", "deu_Latn": "German"])
        try assertOpenAIError(try get("/v1/languages?model=nope"), status: 404)
    }

    func testTokenizeAndDetokenizeRoundTrip() throws {
        let tokens = try json(try post("/v1/tokenize", #"{"text":"Once upon a time"}"#))
        XCTAssertEqual(tokens["ids"] as? [Int], [345, 452, 220, 500, 256, 387])
        XCTAssertEqual(tokens["count"] as? Int, 6)
        let text = try json(try post("/v1/detokenize", #"{"ids":[345,452,220,500,256,387]}"#))
        XCTAssertEqual(text["text"] as? String, "Once upon a time")
        try assertOpenAIError(try post("/v1/detokenize", #"{"ids":[1,-4]}"#), status: 400, mentions: "'ids'")
        try assertOpenAIError(try post("/v1/tokenize", #"{"txt":"x"}"#), status: 400, mentions: "'text'")
        try assertOpenAIError(try post("/v1/tokenize", #"{"text":"x","model":"fake-nllb"}"#), status: 400)
    }
}
