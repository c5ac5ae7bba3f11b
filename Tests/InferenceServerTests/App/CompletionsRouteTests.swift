import Foundation
import XCTest

@testable import InferenceServer
@testable import ServiceTestSupport

/// `POST /v1/completions` and `GET /v1/models`: shapes, streaming framing, validation.
final class CompletionsRouteTests: AppTestCase {
    override func setUpWithError() throws {
        try startApp()
    }

    func testGreedyCompletionMatchesTransformersAndReportsUsage() throws {
        let prompt = try AppFixtures.reference().prompts[0]
        let response = try post(
            "/v1/completions", #"{"model":"tiny","prompt":"\#(prompt.text)","max_tokens":5,"temperature":0}"#)
        XCTAssertEqual(response.status, 200, response.text)
        let body = try json(response)
        XCTAssertEqual(body["object"] as? String, "text_completion")
        XCTAssertEqual(body["model"] as? String, "tiny")
        XCTAssertTrue((body["id"] as? String)?.hasPrefix("cmpl-") == true)
        let choice = try XCTUnwrap((body["choices"] as? [[String: Any]])?.first)
        XCTAssertEqual(Set(choice.keys), ["text", "index", "logprobs", "finish_reason"])
        XCTAssertTrue(choice["logprobs"] is NSNull)
        XCTAssertEqual(choice["finish_reason"] as? String, "length")
        let expected = tinyService.tokenizer.decode(Array(prompt.greedy.prefix(5)), skipSpecialTokens: true)
        XCTAssertEqual(choice["text"] as? String, expected)
        let usage = try XCTUnwrap(body["usage"] as? [String: Int])
        XCTAssertEqual(
            usage, ["prompt_tokens": prompt.ids.count, "completion_tokens": 5, "total_tokens": prompt.ids.count + 5])
    }

    func testDefaultsToSixteenTokensAndTheOnlyModel() throws {
        let body = try json(try post("/v1/completions", #"{"prompt":"Once upon a time","temperature":0}"#))
        XCTAssertEqual((body["usage"] as? [String: Int])?["completion_tokens"], 16)
    }

    func testMaxTokensIsCappedByTheContext() throws {
        let body = try json(
            try post("/v1/completions", #"{"prompt":"Once upon a time","max_tokens":100000,"temperature":0}"#))
        let usage = try XCTUnwrap(body["usage"] as? [String: Int])
        XCTAssertEqual(usage["total_tokens"], 64)  // n_positions of the tiny model
        XCTAssertEqual((body["choices"] as? [[String: Any]])?.first?["finish_reason"] as? String, "length")
    }

    func testPromptArraysTokenIdsNEchoAndSeededSampling() throws {
        let body = try json(
            try post(
                "/v1/completions",
                #"{"prompt":["Once upon a time","The sea remembers"],"n":2,"max_tokens":3,"seed":7,"echo":true}"#))
        let choices = try XCTUnwrap(body["choices"] as? [[String: Any]])
        XCTAssertEqual(choices.map { $0["index"] as? Int }, [0, 1, 2, 3])
        XCTAssertTrue((choices[0]["text"] as? String)?.hasPrefix("Once upon a time") == true)
        let again = try json(
            try post(
                "/v1/completions",
                #"{"prompt":["Once upon a time","The sea remembers"],"n":2,"max_tokens":3,"seed":7,"echo":true}"#))
        XCTAssertEqual(
            (again["choices"] as? [[String: Any]])?.map { $0["text"] as? String }, choices.map { $0["text"] as? String }
        )
        XCTAssertEqual((body["usage"] as? [String: Int])?["prompt_tokens"], 6 + 5)
        let ids = try json(
            try post("/v1/completions", #"{"prompt":[[286,412,377],[345]],"max_tokens":2,"temperature":0}"#))
        XCTAssertEqual((ids["choices"] as? [[String: Any]])?.count, 2)
        XCTAssertEqual((ids["usage"] as? [String: Int])?["prompt_tokens"], 4)
    }

    func testLogprobsListTokensAndTopAlternatives() throws {
        let body = try json(
            try post("/v1/completions", #"{"prompt":"Once upon a time","max_tokens":3,"temperature":0,"logprobs":2}"#))
        let logprobs = try XCTUnwrap((body["choices"] as? [[String: Any]])?.first?["logprobs"] as? [String: Any])
        XCTAssertEqual((logprobs["tokens"] as? [String])?.count, 3)
        XCTAssertEqual((logprobs["token_logprobs"] as? [Double])?.count, 3)
        XCTAssertEqual(logprobs["text_offset"] as? [Int], [0, 1, 3])
        let top = try XCTUnwrap(logprobs["top_logprobs"] as? [[String: Double]])
        XCTAssertEqual(top.count, 3)
        XCTAssertTrue(top.allSatisfy { !$0.isEmpty && $0.count <= 2 && $0.values.allSatisfy { $0 <= 0 } })
    }

    func testStopStringEndsWithFinishReasonStop() throws {
        // Greedy text starts "kji@@@...": stop at "@".
        let body = try json(
            try post("/v1/completions", #"{"prompt":"Once upon a time","max_tokens":10,"temperature":0,"stop":["@"]}"#))
        let choice = try XCTUnwrap((body["choices"] as? [[String: Any]])?.first)
        XCTAssertEqual(choice["text"] as? String, "kji")
        XCTAssertEqual(choice["finish_reason"] as? String, "stop")
    }

    func testStreamingIsServerSentEventsEndingInDone() throws {
        let response = try post(
            "/v1/completions",
            #"{"prompt":"Once upon a time","max_tokens":4,"temperature":0,"stream":true,"stream_options":{"include_usage":true}}"#
        )
        XCTAssertEqual(response.status, 200)
        XCTAssertEqual(response.headers["Content-Type"], "text/event-stream")
        XCTAssertTrue(response.text.hasSuffix("data: [DONE]\n\n"), response.text)
        let events = SSE.parse(response.text)
        XCTAssertTrue(events.allSatisfy { $0.event == nil })
        let chunks = events.dropLast().compactMap(SSE.object)
        XCTAssertEqual(chunks.count, events.count - 1)
        let text = chunks.compactMap { ($0["choices"] as? [[String: Any]])?.first?["text"] as? String }.joined()
        XCTAssertEqual(text, try nonStreamedText(#"{"prompt":"Once upon a time","max_tokens":4,"temperature":0}"#))
        let finishes = chunks.compactMap { ($0["choices"] as? [[String: Any]])?.first?["finish_reason"] as? String }
        XCTAssertEqual(finishes, ["length"])
        XCTAssertEqual((chunks.last?["usage"] as? [String: Int])?["completion_tokens"], 4)
    }

    func nonStreamedText(_ body: String) throws -> String? {
        (try json(try post("/v1/completions", body))["choices"] as? [[String: Any]])?.first?["text"] as? String
    }

    func testModelsListAndLookup() throws {
        let body = try json(try get("/v1/models"))
        XCTAssertEqual(body["object"] as? String, "list")
        // Only what a completions or chat client can use; ?all=true lists every model with its kind.
        XCTAssertEqual((body["data"] as? [[String: Any]])?.map { $0["id"] as? String }, ["tiny"])
        let all = try json(try get("/v1/models?all=true"))
        XCTAssertEqual(
            (all["data"] as? [[String: Any]])?.map { "\($0["id"] ?? ""):\($0["kind"] ?? "")" },
            ["tiny:generation", "fake-nllb:translation"])
        XCTAssertEqual(try json(try get("/v1/models/tiny"))["id"] as? String, "tiny")
        try assertOpenAIError(try get("/v1/models/nope"), status: 404, code: "model_not_found")
        try assertOpenAIError(try get("/v1/models/fake-nllb"), status: 404, mentions: "/v1/translate")
    }

    func testUnknownModelIs404() throws {
        try assertOpenAIError(
            try post("/v1/completions", #"{"model":"gpt-9","prompt":"x"}"#), status: 404,
            code: "model_not_found", mentions: "gpt-9")
        try assertOpenAIError(
            try post("/v1/completions", #"{"model":"fake-nllb","prompt":"x"}"#), status: 400, mentions: "translation")
    }

    func testAbsurdParametersAre400sNamingTheField() throws {
        let cases: [(String, String)] = [
            (#"{"prompt":"x","max_tokens":-1}"#, "max_tokens"),
            (#"{"prompt":"x","max_tokens":1e30}"#, "max_tokens"),
            (#"{"prompt":"x","max_tokens":"many"}"#, "max_tokens"),
            (#"{"prompt":"x","temperature":-0.5}"#, "temperature"),
            (#"{"prompt":"x","temperature":1e309}"#, ""),
            (#"{"prompt":"x","max_tokens":1.5}"#, "max_tokens"),
            (#"{"prompt":["a",[1]]}"#, "prompt"),
            (#"{"prompt":"x","temperature":3}"#, "temperature"),
            (#"{"prompt":"x","top_p":0}"#, "top_p"),
            (#"{"prompt":"x","top_p":1.5}"#, "top_p"),
            (#"{"prompt":"x","presence_penalty":5}"#, "presence_penalty"),
            (#"{"prompt":"x","n":0}"#, "n"),
            (#"{"prompt":"x","n":1000}"#, "n"),
            (#"{"prompt":"x","logprobs":50}"#, "logprobs"),
            (#"{"prompt":"x","stop":[""]}"#, "stop[0]"),
            (#"{"prompt":"x","stop":5}"#, "stop"),
            (#"{"prompt":[1,2,99999]}"#, "prompt[0]"),
            (#"{"prompt":{"a":1}}"#, "prompt"),
            (#"{"prompt":"x","best_of":3}"#, "best_of"),
            (#"{"prompt":"x","echo":true,"logprobs":1}"#, "echo"),
            (#"[1,2]"#, ""),
            (#"{"prompt":"x""#, ""),
            ("", ""),
        ]
        for (body, field) in cases {
            let message = try assertOpenAIError(try post("/v1/completions", body), status: 400)
            if !field.isEmpty { XCTAssertTrue(message.contains("'\(field)'"), "\(body): \(message)") }
        }
        let stops = "[" + (0..<10_000).map { "\"s\($0)\"" }.joined(separator: ",") + "]"
        try assertOpenAIError(
            try post("/v1/completions", #"{"prompt":"x","stop":\#(stops)}"#), status: 400, mentions: "'stop'")
        let longPrompt = Array(repeating: 5, count: 64).map(String.init).joined(separator: ",")
        try assertOpenAIError(
            try post("/v1/completions", #"{"prompt":[\#(longPrompt)]}"#), status: 400, code: "context_length_exceeded")
    }

    func testUnknownFieldsAreIgnored() throws {
        let response = try post(
            "/v1/completions", #"{"prompt":"x","max_tokens":1,"frobnicate":{"deep":[1]},"user":"me"}"#)
        XCTAssertEqual(response.status, 200, response.text)
    }

    func testWrongMethodAndUnknownRoute() throws {
        let wrong = try get("/v1/completions")
        try assertOpenAIError(wrong, status: 405)
        XCTAssertEqual(wrong.headers["Allow"]?.contains("POST"), true)
        try assertOpenAIError(try get("/v1/nothing"), status: 404)
    }

    func testOversizedBodyIs413InTheOpenAIShape() throws {
        app.shutdown(gracePeriod: 0)
        try startApp { $0.http.maxBodyBytes = 1024 }
        let big = #"{"prompt":"\#(String(repeating: "a", count: 2000))"}"#
        try assertOpenAIError(try post("/v1/completions", big), status: 413)
    }
}
