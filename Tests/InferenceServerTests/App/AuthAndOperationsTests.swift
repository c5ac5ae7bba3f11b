import Foundation
import XCTest

@testable import HTTPServer
@testable import InferenceServer
@testable import ServiceTestSupport

/// API keys, health while loading, metrics, back-pressure and client disconnects.
final class AuthAndOperationsTests: AppTestCase {
    func testAPIKeyIsRequiredExceptForHealthAndLegacyRoutesOnLoopback() throws {
        try startApp { $0.apiKeys = ["sekrit"] }
        try assertOpenAIError(
            try post("/v1/completions", #"{"prompt":"x","max_tokens":1}"#), status: 401, code: "missing_api_key")
        try assertOpenAIError(
            try post("/v1/completions", #"{"prompt":"x","max_tokens":1}"#, headers: ["Authorization": "Bearer nope"]),
            status: 401, code: "invalid_api_key")
        XCTAssertEqual(
            try post("/v1/completions", #"{"prompt":"x","max_tokens":1}"#, headers: ["Authorization": "Bearer sekrit"])
                .status, 200)
        try assertOpenAIError(try get("/metrics"), status: 401)
        try assertOpenAIError(try get("/v1/nowhere"), status: 401)  // no route enumeration without a key
        XCTAssertEqual(try get("/health").status, 200)
        XCTAssertEqual(try post("/generate_story", #"{"Prompt":"x"}"#).status, 200)
        XCTAssertEqual(try post("/translate", #"{"Text":"x","Tgt_lang":"spa_Latn"}"#).status, 200)
    }

    func testLegacyRoutesNeedTheKeyFromOtherAddresses() throws {
        let middleware = APIKeyMiddleware(apiKeys: ["sekrit"], legacyOpenOnLoopback: true)
        var request = try HTTPRequest(method: .POST, target: "/generate_story")
        request.route = "/generate_story"
        let next = HTTPNext { _, _ in .text("ok") }
        XCTAssertEqual(
            try middleware.respond(to: request, context: RequestContext(remoteAddress: "127.0.0.1:5000"), next: next)
                .status, .ok)
        XCTAssertThrowsError(
            try middleware.respond(to: request, context: RequestContext(remoteAddress: "10.1.2.3:5000"), next: next)
        ) { error in
            XCTAssertEqual((error as? HTTPError)?.status, .unauthorized)
        }
        let closed = APIKeyMiddleware(apiKeys: ["sekrit"], legacyOpenOnLoopback: false)
        XCTAssertThrowsError(
            try closed.respond(to: request, context: RequestContext(remoteAddress: "127.0.0.1:5000"), next: next))
    }

    func testHealthIs503WhileLoadingThen200() throws {
        try startApp(ready: false)
        let loading = try get("/health")
        XCTAssertEqual(loading.status, 503)
        XCTAssertEqual(try json(loading)["status"] as? String, "loading")
        XCTAssertNotNil(loading.headers["Retry-After"])
        let early = try post("/v1/completions", #"{"prompt":"x"}"#)
        try assertOpenAIError(early, status: 503, code: "model_loading")
        XCTAssertNotNil(early.headers["Retry-After"])
        try app.markReady()
        let ready = try json(try get("/health"))
        XCTAssertEqual(ready["status"] as? String, "ok")
        XCTAssertEqual((ready["models"] as? [[String: Any]])?.map { $0["name"] as? String }, ["tiny", "fake-nllb"])
    }

    func testMetricsArePrometheusText() throws {
        try startApp()
        _ = try post("/v1/completions", #"{"prompt":"Once","max_tokens":3,"temperature":0}"#)
        _ = try post("/v1/completions", #"{"prompt":"x","temperature":-1}"#)
        _ = try post("/v1/translate", #"{"texts":["a"],"target":"spa_Latn"}"#)
        let response = try get("/metrics")
        XCTAssertEqual(response.status, 200)
        XCTAssertTrue(response.headers["Content-Type"]?.hasPrefix("text/plain; version=0.0.4") == true)
        let text = response.text
        for line in [
            #"octavo_http_requests_total{route="/v1/completions",method="POST",status="200"} 1"#,
            #"octavo_http_requests_total{route="/v1/completions",method="POST",status="400"} 1"#,
            #"octavo_generated_tokens_total{model="tiny"} 3"#,
            #"octavo_time_to_first_token_seconds_count{model="tiny"} 1"#,
            #"octavo_token_latency_seconds_count{model="tiny"} 2"#,
            #"octavo_batch_size_count{model="fake-nllb"} 1"#,
            #"octavo_queue_depth{model="tiny"} 0"#,
            "# TYPE octavo_batch_size histogram",
        ] {
            XCTAssertTrue(text.contains(line), "missing \(line)\n\(text)")
        }
        XCTAssertTrue(text.contains(#"octavo_prompt_tokens_total{model="tiny"}"#))
    }

    func testAFullQueueIs429WithRetryAfterInEachAPIShape() throws {
        try startApp(slow: 0.05) {
            $0.maxBatch = 1
            $0.maxQueue = 0
        }
        let running = DispatchSemaphore(value: 0)
        Thread {
            _ = try? self.post("/v1/completions", #"{"prompt":"x","max_tokens":40}"#)
            running.signal()
        }.start()
        XCTAssertTrue(eventually { self.tinyService.executor.statistics.forwardPasses > 0 })
        let refused = try post("/v1/completions", #"{"prompt":"x","max_tokens":1}"#)
        try assertOpenAIError(refused, status: 429, code: "queue_full")
        XCTAssertEqual(refused.headers["Retry-After"], "1")
        let legacy = try post("/generate_story", #"{"Prompt":"x"}"#)
        XCTAssertEqual(legacy.status, 429)
        XCTAssertEqual(Set(try json(legacy).keys), ["error"])
        XCTAssertNotNil(legacy.headers["Retry-After"])
        XCTAssertEqual(running.wait(timeout: .now() + 30), .success)
    }

    func testAClientThatDisconnectsMidStreamCancelsItsSequence() throws {
        try startApp(slow: 0.02)
        let client = try TestClient(port: port)
        let body = #"{"prompt":"Once upon a time","max_tokens":50,"stream":true}"#
        client.send(
            "POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: "
                + "\(body.utf8.count)\r\n\r\n\(body)")
        let head = try client.readHead()
        XCTAssertEqual(head.status, 200)
        _ = try client.readChunk()
        client.reset()
        XCTAssertTrue(
            eventually { self.tinyService.executor.statistics.cancelled == 1 },
            "the slot was not "
                + "cancelled")
        XCTAssertEqual(app.metrics.cancelledCount(model: "tiny"), 1)
        XCTAssertLessThan(app.metrics.generatedTokenCount(model: "tiny"), 50)
        XCTAssertEqual(try post("/v1/completions", #"{"prompt":"x","max_tokens":1}"#).status, 200)
    }

    func testShutdownAnswers503AndStopsCleanly() throws {
        try startApp()
        app.shutdown(gracePeriod: 1)
        XCTAssertThrowsError(try get("/health"))  // listeners are closed
        XCTAssertThrowsError(
            try tinyService.executor.submit(
                GenerationRequest(promptIDs: [1], parameters: .init()),
                to: GenerationEventChannel()))
    }

    func eventually(timeout: TimeInterval = 10, _ condition: () -> Bool) -> Bool {
        let deadline = Date(timeIntervalSinceNow: timeout)
        while Date() < deadline {
            if condition() { return true }
            Thread.sleep(forTimeInterval: 0.01)
        }
        return condition()
    }
}
