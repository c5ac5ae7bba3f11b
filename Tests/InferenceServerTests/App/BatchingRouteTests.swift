import Foundation
import XCTest

@testable import InferenceServer
@testable import ServiceTestSupport

/// Batching seen from HTTP clients, and hostile bodies on every model route.
final class BatchingRouteTests: AppTestCase {
    func testSixteenConcurrentGreedyRequestsOverHTTPMatchSequentialOnes() throws {
        try startApp(slow: 0.003) { $0.maxBatch = 8 }
        let prompts = try AppFixtures.reference().prompts.map(\.text)
        let bodies = (0..<16).map { index -> String in
            let prompt = prompts[index % prompts.count].replacingOccurrences(of: "\"", with: "\\\"")
            return #"{"prompt":"\#(prompt)","max_new_tokens":\#(6 + index % 4 * 3),"greedy":true}"#
        }
        let port = self.port
        let ids: @Sendable (String) -> [Int]? = { body in
            guard let response = try? TestClient.request(port: port, "POST", "/v1/generate", body: body),
                response.status == 200,
                let object = try? JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any]
            else { return nil }
            return object["generated_ids"] as? [Int]
        }
        let sequential = bodies.map(ids)
        XCTAssertEqual(app.metrics.largestBatchBucket(model: "tiny"), 1)

        let concurrent = ResultSlots(count: bodies.count)
        let group = DispatchGroup()
        for (index, body) in bodies.enumerated() {
            group.enter()
            Thread {
                concurrent.set(index, ids(body))
                group.leave()
            }.start()
        }
        XCTAssertEqual(group.wait(timeout: .now() + 60), .success)
        XCTAssertTrue(sequential.allSatisfy { $0 != nil })
        XCTAssertEqual(concurrent.values, sequential)
        XCTAssertGreaterThan(app.metrics.largestBatchBucket(model: "tiny"), 1)
        XCTAssertTrue(try get("/metrics").text.contains(#"octavo_batch_size_bucket{model="tiny",le="1"}"#))
    }

    func testHostileBodiesGet4xxAndTheServerStaysUp() throws {
        try startApp()
        var generator = SystemRandomNumberGenerator()
        let garbage = String(
            decoding: (0..<3000).map { _ in UInt8.random(in: 0...255, using: &generator) }, as: UTF8.self)
        let bodies = [
            String(repeating: "[", count: 100_000),
            String(repeating: #"{"prompt":"#, count: 20_000),
            garbage,
            #"{"prompt":"x","max_tokens":9223372036854775807}"#,
            #"{"Prompt":["a"],"prompt":{"x":null},"texts":7,"text":[],"ids":"1"}"#,
            "null", "0", "\"\"",
        ]
        for path in [
            "/v1/completions", "/v1/generate", "/generate_story", "/translate", "/v1/translate", "/v1/tokenize",
            "/v1/detokenize", "/v1/jobs",
        ] {
            for body in bodies {
                let response = try post(path, body)
                // A huge max_tokens is capped on /v1/completions and an unknown field on /v1/generate.
                let capped = body.contains("max_tokens") && ["/v1/completions", "/v1/generate"].contains(path)
                XCTAssertTrue(
                    (400..<500).contains(response.status) || (capped && response.status == 200),
                    "\(path) answered \(response.status) to \(body.prefix(40)): \(response.text)")
                XCTAssertNotNil(try? JSONSerialization.jsonObject(with: Data(response.body)), "\(path): not JSON")
            }
        }
        let client = try TestClient(port: port)
        let bytes: [UInt8] = Array(#"{"prompt":""#.utf8) + [0xFF, 0xFE] + Array(#""}"#.utf8)
        client.send("POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Length: \(bytes.count)\r\n\r\n")
        client.send(bytes)
        XCTAssertEqual(try client.readResponse().status, 400)
        XCTAssertEqual(try get("/health").status, 200)
    }
}

/// Results written by several threads.
final class ResultSlots: @unchecked Sendable {
    private let lock = NSLock()
    private var slots: [[Int]?]

    init(count: Int) { slots = Array(repeating: nil, count: count) }

    func set(_ index: Int, _ value: [Int]?) {
        lock.lock()
        slots[index] = value
        lock.unlock()
    }

    var values: [[Int]?] {
        lock.lock()
        defer { lock.unlock() }
        return slots
    }
}
