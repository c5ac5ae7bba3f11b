import Foundation
import GPT2
import XCTest

@testable import InferenceServer
@testable import ServiceTestSupport

/// `POST /v1/chat/completions`: the prompt the template makes, shapes, streaming framing, validation.
final class ChatCompletionsRouteTests: AppTestCase {
    override func setUpWithError() throws {
        try startApp()
    }

    private let conversation = #"[{"role":"system","content":"Be brief."},{"role":"user","content":"Hello"}]"#
    private let rendered = "System: Be brief.\nUser: Hello\nAssistant:"

    func testGreedyChatIsTheCompletionOfTheRenderedPrompt() throws {
        let response = try post(
            "/v1/chat/completions",
            #"{"model":"tiny","messages":\#(conversation),"max_tokens":6,"temperature":0}"#)
        XCTAssertEqual(response.status, 200, response.text)
        let body = try json(response)
        XCTAssertEqual(body["object"] as? String, "chat.completion")
        XCTAssertTrue((body["id"] as? String)?.hasPrefix("chatcmpl-") == true)
        let choice = try XCTUnwrap((body["choices"] as? [[String: Any]])?.first)
        XCTAssertEqual(Set(choice.keys), ["index", "message", "logprobs", "finish_reason"])
        let message = try XCTUnwrap(choice["message"] as? [String: Any])
        XCTAssertEqual(message["role"] as? String, "assistant")
        XCTAssertTrue(message["refusal"] is NSNull)

        let completion = try json(
            try post(
                "/v1/completions",
                #"{"prompt":\#(jsonString(rendered)),"max_tokens":6,"temperature":0,"stop":["\nUser:","\nSystem:"]}"#))
        let completionChoice = try XCTUnwrap((completion["choices"] as? [[String: Any]])?.first)
        XCTAssertEqual(message["content"] as? String, completionChoice["text"] as? String)
        XCTAssertEqual(choice["finish_reason"] as? String, completionChoice["finish_reason"] as? String)
        XCTAssertEqual(body["usage"] as? [String: Int], completion["usage"] as? [String: Int])
        let usage = try XCTUnwrap(body["usage"] as? [String: Int])
        XCTAssertEqual(usage["prompt_tokens"], tinyService.tokenizer.encode(rendered).count)
    }

    func testDefaultBudgetIsTheRestOfTheContextAndMaxCompletionTokensWins() throws {
        let body = try json(
            try post("/v1/chat/completions", #"{"messages":\#(conversation),"temperature":0,"stop":["\n"]}"#))
        let usage = try XCTUnwrap(body["usage"] as? [String: Int])
        // The tiny model's greedy output has no newline: it runs to its 64 positions.
        XCTAssertEqual(usage["total_tokens"], 64, "\(body)")
        let capped = try json(
            try post(
                "/v1/chat/completions",
                #"{"messages":\#(conversation),"temperature":0,"max_tokens":9,"max_completion_tokens":3}"#))
        XCTAssertEqual((capped["usage"] as? [String: Int])?["completion_tokens"], 3)
    }

    func testTextPartsNSeedAndLogprobs() throws {
        let parts = #"[{"role":"user","content":[{"type":"text","text":"Hel"},{"type":"text","text":"lo"}]}]"#
        let body = try json(
            try post(
                "/v1/chat/completions",
                #"{"messages":\#(parts),"n":3,"max_tokens":4,"seed":5,"logprobs":true,"top_logprobs":2}"#))
        let choices = try XCTUnwrap(body["choices"] as? [[String: Any]])
        XCTAssertEqual(choices.map { $0["index"] as? Int }, [0, 1, 2])
        XCTAssertEqual((body["usage"] as? [String: Int])?["completion_tokens"], 12)
        let content = try XCTUnwrap((choices[0]["logprobs"] as? [String: Any])?["content"] as? [[String: Any]])
        XCTAssertEqual(content.count, 4)
        XCTAssertEqual(Set(content[0].keys), ["token", "logprob", "bytes", "top_logprobs"])
        XCTAssertEqual((content[0]["top_logprobs"] as? [[String: Any]])?.count, 2)
        let again = try json(
            try post(
                "/v1/chat/completions",
                #"{"messages":\#(parts),"n":3,"max_tokens":4,"seed":5}"#))
        let texts = { (object: [String: Any]) in
            (object["choices"] as? [[String: Any]])?.map { ($0["message"] as? [String: Any])?["content"] as? String }
        }
        XCTAssertEqual(texts(again), texts(body))
        let plain = try json(
            try post(
                "/v1/chat/completions",
                #"{"messages":[{"role":"user","content":"Hello"}],"n":3,"max_tokens":4,"seed":5}"#))
        XCTAssertEqual(texts(plain), texts(body), "text parts are joined into the same prompt")
    }

    func testStreamingChunksAsTheOfficialClientsExpect() throws {
        let response = try post(
            "/v1/chat/completions",
            #"{"messages":\#(conversation),"max_tokens":5,"temperature":0,"n":2,"stream":true,"stream_options":{"include_usage":true}}"#
        )
        XCTAssertEqual(response.status, 200)
        XCTAssertEqual(response.headers["Content-Type"], "text/event-stream")
        let events = SSE.parse(response.text)
        XCTAssertEqual(events.last?.data, "[DONE]")
        let chunks = events.dropLast().compactMap(SSE.object)
        XCTAssertEqual(chunks.count, events.count - 1)
        XCTAssertTrue(chunks.allSatisfy { $0["object"] as? String == "chat.completion.chunk" })
        XCTAssertEqual(Set(chunks.map { $0["id"] as? String }).count, 1)
        let usageChunk = try XCTUnwrap(chunks.last)
        XCTAssertEqual((usageChunk["choices"] as? [Any])?.count, 0)
        XCTAssertEqual((usageChunk["usage"] as? [String: Int])?["completion_tokens"], 10)

        var text = ["", ""]
        var finish: [String?] = [nil, nil]
        var firstDelta: [[String: Any]?] = [nil, nil]
        for chunk in chunks.dropLast() {
            XCTAssertNil(chunk["usage"])
            for choice in chunk["choices"] as? [[String: Any]] ?? [] {
                let index = try XCTUnwrap(choice["index"] as? Int)
                let delta = try XCTUnwrap(choice["delta"] as? [String: Any])
                if firstDelta[index] == nil { firstDelta[index] = delta }
                XCTAssertNil(finish[index], "a chunk after finish_reason")
                text[index] += delta["content"] as? String ?? ""
                finish[index] = choice["finish_reason"] as? String
            }
        }
        for index in 0..<2 {
            XCTAssertEqual(firstDelta[index]?["role"] as? String, "assistant")
            XCTAssertEqual(finish[index], "length")
        }
        let whole = try json(
            try post("/v1/chat/completions", #"{"messages":\#(conversation),"max_tokens":5,"temperature":0}"#))
        XCTAssertEqual(
            text[0],
            ((whole["choices"] as? [[String: Any]])?.first?["message"] as? [String: Any])?["content"] as? String)
    }

    func testInvalidConversationsAre400sNamingTheField() throws {
        let cases: [(String, String)] = [
            (#"{"messages":[]}"#, "messages"),
            (#"{}"#, "messages"),
            (#"{"messages":[{"role":"tool","content":"x"}]}"#, "messages[0].role"),
            (
                #"{"messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"x"}}]}]}"#,
                "messages[0].content[0]"
            ),
            (#"{"messages":[{"role":"user"}]}"#, "messages[0].content"),
            (#"{"messages":[{"role":"user","content":5}]}"#, "messages[0].content"),
            (#"{"messages":[{"role":"user","content":"x"}],"top_logprobs":2}"#, "top_logprobs"),
            (#"{"messages":[{"role":"user","content":"x"}],"temperature":9}"#, "temperature"),
            (#"{"messages":[{"role":"user","content":"x"}],"max_completion_tokens":-1}"#, "max_completion_tokens"),
            (#"{"messages":[{"role":"user","content":"x"}],"tools":[{"type":"function"}]}"#, "tools"),
            (
                #"{"messages":[{"role":"user","content":"x"}],"response_format":{"type":"json_object"}}"#,
                "response_format"
            ),
        ]
        for (body, field) in cases {
            let message = try assertOpenAIError(try post("/v1/chat/completions", body), status: 400)
            XCTAssertTrue(message.contains("'\(field)'"), "\(body): \(message)")
        }
        try assertOpenAIError(
            try post("/v1/chat/completions", #"{"model":"fake-nllb","messages":[{"role":"user","content":"x"}]}"#),
            status: 400, mentions: "translation")
        let long = String(repeating: "word ", count: 200)
        try assertOpenAIError(
            try post("/v1/chat/completions", #"{"messages":[{"role":"user","content":"\#(long)"}]}"#),
            status: 400, code: "context_length_exceeded")
    }

    func testAFoldersOwnTemplateIsUsedWithItsSpecialTokens() throws {
        app.shutdown(gracePeriod: 0)
        try startApp(translation: false, ready: false)
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("templated-\(UUID().uuidString)")
        try FileManager.default.copyItem(at: AppFixtures.tinyGPT2, to: folder)
        defer { try? FileManager.default.removeItem(at: folder) }
        let configURL = folder.appendingPathComponent("tokenizer_config.json")
        var config = try XCTUnwrap(
            try JSONSerialization.jsonObject(with: Data(contentsOf: configURL)) as? [String: Any])
        config["chat_template"] = "{% for m in messages %}{{ m.content + eos_token }}{% endfor %}"
        try JSONSerialization.data(withJSONObject: config).write(to: configURL)
        try app.addGenerationModel(name: "templated", pipeline: try GPT2Pipeline(directory: folder))
        try app.markReady()

        let body = try json(
            try post(
                "/v1/chat/completions",
                #"{"model":"templated","messages":[{"role":"user","content":"Hello"}],"max_tokens":1,"temperature":0}"#)
        )
        let expected = tinyService.tokenizer.encode("Hello") + [512]  // <|endoftext|> is one special token
        XCTAssertEqual(tinyService.tokenizer.encode("Hello<|endoftext|>"), expected)
        XCTAssertEqual((body["usage"] as? [String: Int])?["prompt_tokens"], expected.count, "\(body)")
    }

    func testHostileConversationsAreRefusedCleanly() throws {
        let many = "[" + Array(repeating: #"{"role":"user","content":"x"}"#, count: 5000).joined(separator: ",") + "]"
        try assertOpenAIError(
            try post("/v1/chat/completions", #"{"messages":\#(many)}"#), status: 400,
            code: "context_length_exceeded")
        for content in [#"[[["deep"]]]"#, #"{"type":"text"}"#, #"[{"text":"no type"}]"#, "null", "true"] {
            let response = try post("/v1/chat/completions", #"{"messages":[{"role":"user","content":\#(content)}]}"#)
            try assertOpenAIError(response, status: 400)
        }
        try assertOpenAIError(
            try post("/v1/chat/completions", #"{"messages":[{"content":"x"}]}"#), status: 400,
            mentions: "role")
    }

    private func jsonString(_ text: String) -> String {
        String(decoding: try! JSONSerialization.data(withJSONObject: [text]), as: UTF8.self).dropFirst().dropLast()
            .description
    }
}
