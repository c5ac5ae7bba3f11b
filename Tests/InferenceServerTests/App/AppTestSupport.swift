import Foundation
import Generation
import GPT2
import Tokenizer
import XCTest
@testable import InferenceServer
@testable import ServiceTestSupport

/// Paths of the shared fixtures.
enum AppFixtures {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Fixtures")
    static let tinyGPT2 = root.appendingPathComponent("GPT2/tiny")

    struct Reference: Decodable {
        struct Prompt: Decodable {
            let text: String
            let ids: [Int]
            let greedy: [Int]
        }
        let greedy_max_new_tokens: Int
        let prompts: [Prompt]
    }

    static func reference() throws -> Reference {
        try JSONDecoder().decode(Reference.self, from: Data(contentsOf: root.appendingPathComponent("GPT2/tiny.reference.json")))
    }

    /// The tiny pipeline, loaded once (read-only afterwards; each app gets its own executor
    /// around its own model instance when it needs one, see `freshPipeline`).
    static func freshPipeline() throws -> GPT2Pipeline {
        try GPT2Pipeline(directory: tinyGPT2)
    }
}

/// A model that sleeps before each forward pass, so tests can hold work in the executor.
final class SlowModel: CausalLanguageModel {
    let inner: CausalLanguageModel
    let delay: TimeInterval

    init(_ inner: CausalLanguageModel, delay: TimeInterval) {
        self.inner = inner
        self.delay = delay
    }

    var vocabularySize: Int { inner.vocabularySize }
    var maxPositions: Int { inner.maxPositions }
    func makeCache(capacity: Int) -> KVCache { inner.makeCache(capacity: capacity) }
    func forward(_ steps: [SequenceStep], logits: UnsafeMutablePointer<Float>) throws {
        Thread.sleep(forTimeInterval: delay)
        try inner.forward(steps, logits: logits)
    }
}

/// A translation backend for tests: reverses the words of each text and prefixes the
/// target language, records every batch, and can be told to fail or to hold a call.
final class FakeTranslationBackend: TranslationBackend, @unchecked Sendable {
    let languages = ["eng_Latn", "spa_Latn", "fra_Latn", "deu_Latn"]
    private let lock = NSLock()
    private var recorded: [[TranslationRequest]] = []
    var failWith: Error?
    /// Each call waits on this before answering, when set.
    var gate: DispatchSemaphore?

    var batches: [[TranslationRequest]] {
        lock.lock()
        defer { lock.unlock() }
        return recorded
    }

    func translate(batch: [TranslationRequest]) throws -> [TranslationResult] {
        lock.lock()
        recorded.append(batch)
        lock.unlock()
        gate?.wait()
        if let failWith { throw failWith }
        return batch.map { request in
            TranslationResult(texts: request.texts.map { Self.translate($0, to: request.target) })
        }
    }

    static func translate(_ text: String, to target: String) -> String {
        "<\(target)> " + text.split(separator: " ").reversed().joined(separator: " ")
    }
}

struct FakeBackendFailure: Error, CustomStringConvertible {
    var description: String { "the fake backend failed on purpose" }
}

/// Starts a `ServerApp` on 127.0.0.1:0 per test and stops it after.
class AppTestCase: XCTestCase {
    var app: ServerApp!
    var port = 0
    var translator: FakeTranslationBackend?

    /// - Parameters:
    ///   - slow: delay per forward pass of the GPT-2 model (0 = the real tiny model as is).
    func startApp(slow: TimeInterval = 0, translation: Bool = true, ready: Bool = true,
                  _ configure: (inout ServerConfiguration) -> Void = { _ in }) throws {
        var configuration = ServerConfiguration()
        configuration.port = 0
        configuration.requestTimeout = 60
        configure(&configuration)
        app = ServerApp(configuration: configuration)
        let listeners = try app.start()
        port = listeners[0].port
        let pipeline = try AppFixtures.freshPipeline()
        let model: CausalLanguageModel = slow > 0 ? SlowModel(pipeline.model, delay: slow) : pipeline.model
        try app.addGenerationModel { executorConfiguration, metrics in
            GenerationService(name: "tiny", model: model, tokenizer: pipeline.tokenizer, defaults: pipeline.defaultParameters(),
                              bosTokenID: 512, configuration: executorConfiguration, metrics: metrics)
        }
        if translation {
            let backend = FakeTranslationBackend()
            translator = backend
            try app.addTranslationModel(name: "fake-nllb", backend: backend)
        }
        if ready { try app.markReady() }
    }

    override func tearDown() {
        app?.shutdown(gracePeriod: 1)
        app = nil
        super.tearDown()
    }

    var tinyService: GenerationService {
        app.registry.generationServices[0]
    }

    // MARK: Requests

    func post(_ path: String, _ body: String, headers: [String: String] = [:], port: Int? = nil) throws -> TestResponse {
        var headers = headers
        if headers["Content-Type"] == nil { headers["Content-Type"] = "application/json" }
        return try TestClient.request(port: port ?? self.port, "POST", path, headers: headers, body: body)
    }

    func get(_ path: String, headers: [String: String] = [:]) throws -> TestResponse {
        try TestClient.request(port: port, "GET", path, headers: headers)
    }

    /// The body as a JSON object.
    func json(_ response: TestResponse, file: StaticString = #filePath, line: UInt = #line) throws -> [String: Any] {
        let object = try? JSONSerialization.jsonObject(with: Data(response.body))
        return try XCTUnwrap(object as? [String: Any], "not a JSON object: \(response.text)", file: file, line: line)
    }

    /// Asserts an OpenAI-shaped error with this status; returns its message.
    @discardableResult
    func assertOpenAIError(_ response: TestResponse, status: Int, code: String? = nil, mentions: String? = nil,
                           file: StaticString = #filePath, line: UInt = #line) throws -> String {
        XCTAssertEqual(response.status, status, response.text, file: file, line: line)
        let body = try json(response, file: file, line: line)
        let error = try XCTUnwrap(body["error"] as? [String: Any], "no error object: \(response.text)", file: file, line: line)
        XCTAssertEqual(Set(error.keys), ["message", "type", "code"], file: file, line: line)
        let message = try XCTUnwrap(error["message"] as? String, file: file, line: line)
        if let code { XCTAssertEqual(error["code"] as? String, code, message, file: file, line: line) }
        if let mentions { XCTAssertTrue(message.contains(mentions), "'\(message)' does not mention '\(mentions)'", file: file, line: line) }
        return message
    }
}

/// One server-sent event as parsed from a stream.
struct SSEEvent: Equatable {
    var event: String?
    var data: String
}

enum SSE {
    /// Parses a complete `text/event-stream` body (comments skipped).
    static func parse(_ text: String) -> [SSEEvent] {
        var events: [SSEEvent] = []
        for block in text.components(separatedBy: "\n\n") where !block.isEmpty {
            var event: String?
            var data: [String] = []
            for line in block.split(separator: "\n", omittingEmptySubsequences: false) {
                if line.hasPrefix("event: ") { event = String(line.dropFirst(7)) }
                if line.hasPrefix("data: ") { data.append(String(line.dropFirst(6))) }
            }
            if event != nil || !data.isEmpty { events.append(SSEEvent(event: event, data: data.joined(separator: "\n"))) }
        }
        return events
    }

    static func object(_ event: SSEEvent) -> [String: Any]? {
        (try? JSONSerialization.jsonObject(with: Data(event.data.utf8))) as? [String: Any]
    }
}
