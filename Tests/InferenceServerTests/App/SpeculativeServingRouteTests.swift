import Foundation
import GPT2
import Generation
import XCTest

@testable import InferenceServer
@testable import ServiceTestSupport

/// `serve --draft` seen from HTTP clients: with an int8 or n-gram draft, every greedy response
/// and every streamed token is what the server without a draft sends, for concurrent clients
/// mixing greedy and sampled requests; a seeded sampled response is the same whatever the
/// requests beside it.
final class SpeculativeServingRouteTests: AppTestCase {
    static func int8Draft() throws -> GenerationDraft {
        let model = try GPT2Model(directory: AppFixtures.tinyGPT2, precision: .int8)
        return GenerationDraft(label: "int8", draftTokens: 3) { ModelDraft(model: model) }
    }

    static let ngramDraft = GenerationDraft(label: "ngram", draftTokens: 4) { NGramDraft() }

    /// Greedy and seeded sampled requests on the native and OpenAI routes, with stop strings,
    /// logprobs and several budgets.
    func bodies() throws -> [(path: String, body: String)] {
        let prompts = try AppFixtures.reference().prompts.map { $0.text.replacingOccurrences(of: "\"", with: "\\\"") }
        var bodies: [(String, String)] = []
        for (index, prompt) in prompts.enumerated() {
            bodies.append(
                (
                    "/v1/generate",
                    #"{"prompt":"\#(prompt)","max_new_tokens":\#(8 + index * 3),"greedy":true}"#
                ))
            bodies.append(("/v1/generate", #"{"prompt":"\#(prompt)","max_new_tokens":12,"seed":\#(index),"top_k":20}"#))
            bodies.append(
                (
                    "/v1/completions",
                    #"{"prompt":"\#(prompt)","max_tokens":\#(20 - index),"temperature":0,"logprobs":2}"#
                ))
        }
        bodies.append(
            (
                "/v1/completions",
                #"{"prompt":"Once upon a time","max_tokens":10,"temperature":0,"stop":["@"]}"#
            ))
        bodies.append(("/v1/completions", #"{"prompt":"Once upon a time","max_tokens":10,"seed":9,"n":2}"#))
        return bodies
    }

    /// Every body sent at once from its own client thread; the answers without the fields that
    /// differ between runs (ids, times).
    func responses(_ bodies: [(path: String, body: String)]) throws -> [String] {
        let port = self.port
        let results = TextSlots(count: bodies.count)
        let group = DispatchGroup()
        for (index, request) in bodies.enumerated() {
            group.enter()
            Thread {
                defer { group.leave() }
                guard
                    let response = try? TestClient.request(
                        port: port, "POST", request.path,
                        headers: ["Content-Type": "application/json"],
                        body: request.body)
                else { return }
                results.set(index, "\(response.status) " + Self.stable(response.text))
            }.start()
        }
        XCTAssertEqual(group.wait(timeout: .now() + 120), .success)
        return results.values.map { $0 ?? "no answer" }
    }

    /// A JSON body without the fields that change from run to run.
    static func stable(_ text: String) -> String {
        guard var object = (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any] else {
            return text
        }
        // A request without a seed reports the one drawn for it.
        for key in ["id", "created", "timings", "system_fingerprint", "seed"] { object.removeValue(forKey: key) }
        let data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
        return data.map { String(decoding: $0, as: UTF8.self) } ?? text
    }

    /// Each streamed event's data, without the fields that change from run to run.
    func streamedEvents(_ path: String, _ body: String) throws -> [String] {
        let response = try post(path, body)
        XCTAssertEqual(response.status, 200)
        return SSE.parse(response.text).map { "\($0.event ?? "") \(Self.stable($0.data))" }
    }

    func testConcurrentClientsGetThePlainServersAnswersWithInt8AndNgramDrafts() throws {
        let bodies = try bodies()
        let streams = [
            ("/v1/generate", #"{"prompt":"Once upon a time","max_new_tokens":20,"greedy":true,"stream":true}"#),
            ("/v1/completions", #"{"prompt":"The sea remembers","max_tokens":16,"temperature":0,"stream":true}"#),
        ]
        try startApp(slow: 0.002) { $0.maxBatch = 6 }
        let plain = try responses(bodies)
        let plainStreams = try streams.map { try streamedEvents($0.0, $0.1) }
        XCTAssertTrue(plain.allSatisfy { $0.hasPrefix("200 ") }, plain.joined(separator: "\n"))
        XCTAssertGreaterThan(plainStreams[0].count, 20)  // one event per token, then done

        for draft in [try Self.int8Draft(), Self.ngramDraft] {
            app.shutdown(gracePeriod: 1)
            try startApp(slow: 0.002, draft: draft) { $0.maxBatch = 6 }
            let drafted = try responses(bodies)
            let sampled = bodies.indices.filter { bodies[$0].body.contains(#""seed""#) }
            for index in bodies.indices where !sampled.contains(index) {
                XCTAssertTrue(
                    Self.same(drafted[index], plain[index]),
                    "\(draft.label): \(bodies[index].body)\n\(drafted[index])\n\(plain[index])")
            }
            // /metrics counts every token once, however many a forward pass kept.
            let completionTokens = drafted.reduce(0) { $0 + Self.generatedTokens($1) }
            XCTAssertGreaterThan(completionTokens, 100)
            XCTAssertEqual(app.metrics.generatedTokenCount(model: "tiny"), UInt64(completionTokens), draft.label)
            let series = #"octavo_generated_tokens_total{model="tiny"} \#(completionTokens)"#
            XCTAssertTrue(try get("/metrics").text.contains(series), draft.label)
            for (index, stream) in streams.enumerated() {
                XCTAssertEqual(
                    try streamedEvents(stream.0, stream.1), plainStreams[index],
                    "\(draft.label): \(stream.1)")
            }
            // Sampled requests speculate with their own draws: the same answers sent alone.
            for index in sampled {
                let alone = try responses([bodies[index]])[0]
                XCTAssertTrue(
                    Self.same(drafted[index], alone),
                    "\(draft.label): \(bodies[index].body)\n\(drafted[index])\n\(alone)")
            }
        }
    }

    func testTheInt8DraftKeepsSeveralTokensPerForwardPass() throws {
        try startApp(draft: try Self.int8Draft())
        let body = try json(
            try post(
                "/v1/generate",
                #"{"prompt":"Once upon a time","max_new_tokens":24,"greedy":true}"#))
        let prompt = try AppFixtures.reference().prompts.first { $0.text == "Once upon a time" }
        XCTAssertEqual(body["generated_ids"] as? [Int], prompt.map { Array($0.greedy.prefix(24)) })
        // Without a draft: 24 forward passes; the int8 copy of the tiny model agrees often.
        XCTAssertLessThan(tinyService.executor.statistics.forwardPasses, 16)
    }

    func testACancelledStreamDoesNotDisturbTheOtherClients() throws {
        try startApp(slow: 0.01, draft: try Self.int8Draft())
        let reference = try AppFixtures.reference()
        let client = try TestClient(port: port)
        let body = #"{"prompt":"Once upon a time","max_tokens":50,"temperature":0,"stream":true}"#
        client.send(
            "POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                + "Content-Length: \(body.utf8.count)\r\n\r\n\(body)")
        XCTAssertEqual(try client.readHead().status, 200)
        let port = self.port
        let others = ResultSlots(count: reference.prompts.count)
        let group = DispatchGroup()
        for (index, prompt) in reference.prompts.enumerated() {
            group.enter()
            Thread {
                defer { group.leave() }
                let text = prompt.text.replacingOccurrences(of: "\"", with: "\\\"")
                let request = #"{"prompt":"\#(text)","max_new_tokens":20,"greedy":true}"#
                guard let response = try? TestClient.request(port: port, "POST", "/v1/generate", body: request),
                    let object = try? JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any]
                else { return }
                others.set(index, object["generated_ids"] as? [Int])
            }.start()
        }
        _ = try client.readChunk()
        client.reset()
        XCTAssertEqual(group.wait(timeout: .now() + 60), .success)
        XCTAssertEqual(others.values, reference.prompts.map { Array($0.greedy.prefix(20)) })
        XCTAssertTrue(
            eventually { self.tinyService.executor.statistics.cancelled == 1 },
            "the slot was not "
                + "cancelled")
        XCTAssertEqual(app.metrics.cancelledCount(model: "tiny"), 1)
        XCTAssertEqual(tinyService.executor.statistics.completed, reference.prompts.count)
    }

    /// Two answers alike: the same status, keys, strings and integers, and fractions equal to
    /// float rounding (a logprob's last bits depend on how many rows its batch had).
    static func same(_ a: String, _ b: String) -> Bool {
        guard a.prefix(4) == b.prefix(4) else { return false }
        func parse(_ text: String) -> Any? {
            try? JSONSerialization.jsonObject(with: Data(text.dropFirst(4).utf8), options: [.fragmentsAllowed])
        }
        guard let x = parse(a), let y = parse(b) else { return a == b }
        return alike(x, y)
    }

    static func alike(_ x: Any, _ y: Any) -> Bool {
        switch (x, y) {
        case (let x as [String: Any], let y as [String: Any]):
            return Set(x.keys) == Set(y.keys) && x.allSatisfy { alike($0.value, y[$0.key]!) }
        case (let x as [Any], let y as [Any]):
            return x.count == y.count && zip(x, y).allSatisfy { alike($0, $1) }
        case (let x as String, let y as String):
            return x == y
        case (let x as NSNumber, let y as NSNumber):
            if x.doubleValue.rounded() == x.doubleValue && y.doubleValue.rounded() == y.doubleValue {
                return x == y
            }
            return abs(x.doubleValue - y.doubleValue) <= 1e-4
        case (is NSNull, is NSNull):
            return true
        default:
            return false
        }
    }

    func testServeTakesTheDraftFromItsConfigFile() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("octavo-draft-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let config = folder.appendingPathComponent("serve.json")
        try #"{"model": {"tiny": "\#(AppFixtures.tinyGPT2.path)"}, "draft": "ngram+int8", "draft-tokens": 3}"#
            .write(to: config, atomically: true, encoding: .utf8)
        let server = try ServeProcess(["--config", config.path, "--port", "0"])
        let port = try XCTUnwrap(server.mainPort(), server.stderr)
        XCTAssertTrue(server.waitFor("ready"), server.stdout + server.stderr)
        XCTAssertTrue(server.stdout.contains("positions, draft ngram+int8,"), server.stdout)
        let prompt = try AppFixtures.reference().prompts[1]
        let response = try TestClient.request(
            port: port, "POST", "/v1/generate",
            headers: ["Content-Type": "application/json"],
            body: #"{"prompt":"\#(prompt.text)","max_new_tokens":24,"greedy":true}"#)
        let parsed = try JSONSerialization.jsonObject(with: Data(response.body))
        let body = try XCTUnwrap(parsed as? [String: Any], response.text)
        XCTAssertEqual(body["generated_ids"] as? [Int], prompt.greedy)
        server.signal(SIGTERM)
        XCTAssertEqual(server.waitForExit(), 0, server.stderr)

        let misused = try ServeProcess([
            "--model", "tiny=\(AppFixtures.tinyGPT2.path)", "--port", "0",
            "--draft-tokens", "3",
        ])
        XCTAssertNotEqual(misused.waitForExit(timeout: 60), 0)
        Thread.sleep(forTimeInterval: 0.2)  // the pipes' last bytes
        XCTAssertTrue(misused.stderr.contains("--draft-tokens needs --draft"), misused.stderr)
    }

    /// Tokens a stable answer reports generating (native or OpenAI shape).
    static func generatedTokens(_ answer: String) -> Int {
        let json = answer.drop { $0 != " " }.dropFirst()
        guard let object = (try? JSONSerialization.jsonObject(with: Data(json.utf8))) as? [String: Any] else {
            return 0
        }
        if let ids = object["generated_ids"] as? [Int] { return ids.count }
        return (object["usage"] as? [String: Int])?["completion_tokens"] ?? 0
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

/// Answers written by several threads.
final class TextSlots: @unchecked Sendable {
    private let lock = NSLock()
    private var slots: [String?]

    init(count: Int) { slots = Array(repeating: nil, count: count) }

    func set(_ index: Int, _ value: String) {
        lock.lock()
        slots[index] = value
        lock.unlock()
    }

    var values: [String?] {
        lock.lock()
        defer { lock.unlock() }
        return slots
    }
}
