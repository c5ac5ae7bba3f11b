import Foundation
import NLLB
import XCTest

@testable import InferenceServer
@testable import JobStore
@testable import ServiceTestSupport

/// One log line per request with its id, model and tokens; `/metrics` series that tell the truth.
final class RequestLogAndMetricsTests: AppTestCase {
    let lines = LineCollector()

    func startLogged(_ format: RequestLogFormat = .text) throws {
        let lines = self.lines
        try startApp {
            $0.requestLogFormat = format
            $0.requestLog = { lines.append($0) }
        }
    }

    func testOneTextLinePerRequestWithModelTokensAndStatus() throws {
        try startLogged()
        let response = try post(
            "/v1/completions", #"{"prompt":"Once upon a time","max_tokens":3,"temperature":0,"n":2}"#,
            headers: ["X-Request-Id": "abc-123"])
        XCTAssertEqual(response.headers["X-Request-Id"], "abc-123")
        try assertOpenAIError(try get("/v1/nothing"), status: 404)
        let line = try XCTUnwrap(lines.waitFor(2).first)
        let fields = line.split(separator: " ").map(String.init)
        XCTAssertNotNil(ISO8601DateFormatter.withFractionalSeconds.date(from: fields[0]), line)
        XCTAssertEqual(Array(fields[1...3]), ["abc-123", "POST", "/v1/completions"], line)
        // The prompt (6 tokens) counts once for n=2, as in usage.
        XCTAssertEqual(
            Array(fields[4...7]), ["model=tiny", "status=200", "prompt_tokens=6", "generated_tokens=6"], line)
        XCTAssertTrue(fields[8].hasPrefix("duration_ms="), line)
        XCTAssertTrue(lines.all[1].contains(" GET /v1/nothing model=- status=404 prompt_tokens=0 "), lines.all[1])
    }

    func testJSONLinesAndMadeUpIDsOnEveryReply() throws {
        try startLogged(.json)
        let response = try post(
            "/v1/chat/completions",
            #"{"messages":[{"role":"user","content":"Hi"}],"max_tokens":2,"temperature":0,"stream":true}"#,
            headers: ["X-Request-Id": "bad id\twith space"])
        let id = try XCTUnwrap(response.headers["X-Request-Id"])
        XCTAssertEqual(id.count, 20)
        let unauthorized = try get("/health")
        XCTAssertNotNil(unauthorized.headers["X-Request-Id"])
        XCTAssertNotEqual(unauthorized.headers["X-Request-Id"], id)
        // A streamed reply is logged when its stream ends, with the tokens it generated.
        let line = try XCTUnwrap(lines.waitFor(2).first { $0.contains("chat") })
        let object = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        XCTAssertEqual(
            Set(object.keys),
            [
                "time", "request_id", "method", "path", "model", "status", "prompt_tokens",
                "generated_tokens", "duration_ms",
            ])
        XCTAssertEqual(object["request_id"] as? String, id)
        XCTAssertEqual(object["model"] as? String, "tiny")
        XCTAssertEqual(object["generated_tokens"] as? Int, 2)
        XCTAssertEqual(object["path"] as? String, "/v1/chat/completions")
        XCTAssertTrue(line.hasPrefix(#"{"duration_ms":"#), "keys are sorted: \(line)")
    }

    func testRepliesToMalformedRequestsCarryARequestIDToo() throws {
        try startLogged()
        let client = try TestClient(port: port)
        XCTAssertTrue(client.send("GET /v1/models HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n"))
        let response = try client.readResponse()
        XCTAssertEqual(response.status, 400)
        XCTAssertEqual(response.headers["X-Request-Id"]?.count, 20, response.text)
        // An error inside the router keeps the client's id (the middleware sets it after rendering).
        let routed = try get("/v1/nothing", headers: ["X-Request-Id": "mine"])
        XCTAssertEqual(routed.headers["X-Request-Id"], "mine")
    }

    func testTranslationsAreLoggedAndCounted() throws {
        try startLogged()
        let response = try post(
            "/v1/translate", #"{"texts":["Hello","World"],"source":"eng_Latn","target":"spa_Latn"}"#)
        XCTAssertEqual(response.status, 200, response.text)
        XCTAssertEqual(app.metrics.completedCount(model: "fake-nllb"), 1)
        XCTAssertTrue(
            try XCTUnwrap(lines.waitFor(1).first).contains("model=fake-nllb status=200"), lines.all.description)
    }

    func testJobSubmissionsNameTheirModel() throws {
        let path = NSTemporaryDirectory() + "octavo-log-jobs-\(UUID().uuidString).sqlite"
        defer {
            for suffix in ["", "-wal", "-shm", ".lock"] { try? FileManager.default.removeItem(atPath: path + suffix) }
        }
        let lines = self.lines
        try startApp {
            $0.jobsDatabasePath = path
            $0.requestLog = { lines.append($0) }
        }
        XCTAssertEqual(try post("/v1/jobs", #"{"type":"translate","texts":["a"],"target":"spa_Latn"}"#).status, 202)
        XCTAssertTrue(
            try XCTUnwrap(lines.waitFor(1).first).contains(" POST /v1/jobs model=fake-nllb status=202 "),
            lines.all.description)
    }

    func testEveryLoadedModelHasItsSeriesFromTheStartAndActiveReturnsToZero() throws {
        try startApp()
        let before = try get("/metrics").text
        for model in ["tiny", "fake-nllb"] {
            XCTAssertTrue(before.contains("octavo_generated_tokens_total{model=\"\(model)\"} 0"), before)
            XCTAssertTrue(before.contains("octavo_active_sequences{model=\"\(model)\"} 0"), before)
        }
        XCTAssertEqual(try post("/v1/completions", #"{"prompt":"Once","max_tokens":3}"#).status, 200)
        // The reply goes out as the last token is sent; the executor updates the gauge right after.
        let deadline = Date().addingTimeInterval(5)
        while app.metrics.activeSequences(model: "tiny") != 0, Date() < deadline { Thread.sleep(forTimeInterval: 0.01) }
        XCTAssertEqual(app.metrics.activeSequences(model: "tiny"), 0)
        XCTAssertTrue(try get("/metrics").text.contains("octavo_active_sequences{model=\"tiny\"} 0"))
        XCTAssertEqual(app.metrics.generatedTokenCount(model: "tiny"), 3)
    }

    func testRealNLLBTranslationsCountTheirTokens() throws {
        try startApp(translation: false, ready: false)
        let pipeline = try NLLBPipeline(directory: AppFixtures.root.appendingPathComponent("NLLB/tiny"))
        try app.addTranslationModel(name: "nllb", backend: NLLBTranslationBackend(pipeline: pipeline))
        try app.markReady()
        let response = try post(
            "/v1/translate", #"{"texts":["Hello there."],"source":"eng_Latn","target":"fra_Latn","max_tokens":5}"#)
        XCTAssertEqual(response.status, 200, response.text)
        XCTAssertEqual(app.metrics.completedCount(model: "nllb"), 1)
        let sourceTokens = pipeline.tokenizer.encode("Hello there.").count + 2
        XCTAssertEqual(app.metrics.promptTokenCount(model: "nllb"), UInt64(sourceTokens))
        XCTAssertGreaterThan(app.metrics.generatedTokenCount(model: "nllb"), 0)
        XCTAssertLessThanOrEqual(app.metrics.generatedTokenCount(model: "nllb"), 7)
    }
}

/// Log lines written from connection threads, read by the test.
final class LineCollector: @unchecked Sendable {
    private let condition = NSCondition()
    private var lines: [String] = []

    func append(_ line: String) {
        condition.lock()
        lines.append(line)
        condition.broadcast()
        condition.unlock()
    }

    var all: [String] {
        condition.lock()
        defer { condition.unlock() }
        return lines
    }

    /// The lines once there are at least `count` (or whatever came within 5 s).
    func waitFor(_ count: Int) -> [String] {
        condition.lock()
        defer { condition.unlock() }
        let deadline = Date().addingTimeInterval(5)
        while lines.count < count, condition.wait(until: deadline) {}
        return lines
    }
}

extension ISO8601DateFormatter {
    static var withFractionalSeconds: ISO8601DateFormatter {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter
    }
}
