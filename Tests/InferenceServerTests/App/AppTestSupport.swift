import Foundation
import GPT2
import Generation
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
        try JSONDecoder().decode(
            Reference.self, from: Data(contentsOf: root.appendingPathComponent("GPT2/tiny.reference.json")))
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
    var writesLogitsForEveryToken: Bool { inner.writesLogitsForEveryToken }
    func makeCache(capacity: Int) -> KVCache { inner.makeCache(capacity: capacity) }
    func forward(_ steps: [SequenceStep], logits: UnsafeMutablePointer<Float>) throws {
        Thread.sleep(forTimeInterval: delay)
        try inner.forward(steps, logits: logits)
    }
}

/// A translation backend for tests: reverses the words of each text and prefixes the
/// target language, through the real executor. Its model spells the translation one
/// character per decoder step, read from the "source" (the translation's characters), so
/// sentences run in slots like NLLB's. Records every request, and can be told to fail or
/// to hold each decoder step.
final class FakeTranslationBackend: TranslationBackend, @unchecked Sendable {
    let languages = ["eng_Latn", "spa_Latn", "fra_Latn", "deu_Latn"]
    private let lock = NSLock()
    private var recorded: [[TranslationRequest]] = []
    private let fakeModel = CharacterSpellingModel()
    var failWith: Error? {
        get { fakeModel.failWith }
        set { fakeModel.failWith = newValue }
    }
    /// Each decoder step waits on this, when set.
    var gate: DispatchSemaphore? {
        get { fakeModel.gate }
        set { fakeModel.gate = newValue }
    }

    /// The requests prepared so far, each as a batch of one.
    var batches: [[TranslationRequest]] {
        lock.lock()
        defer { lock.unlock() }
        return recorded
    }

    var model: Seq2SeqModel { fakeModel }

    func prepare(_ request: TranslationRequest) throws -> PreparedTranslation {
        lock.lock()
        recorded.append([request])
        lock.unlock()
        var parameters = Seq2SeqParameters(
            decoderStartTokenID: CharacterSpellingModel.start,
            eosTokenIDs: [CharacterSpellingModel.end])
        parameters.generation.maxNewTokens = fakeModel.maxTargetPositions
        let sources = request.texts.map { fakeModel.ids(of: Self.translate($0, to: request.target)) }
        return PreparedTranslation(
            sources: sources, parameters: parameters,
            maxLength: fakeModel.maxTargetPositions + 1, seed: nil, layout: ())
    }

    func assemble(_ prepared: PreparedTranslation, outputs: [Seq2SeqOutput]) throws -> TranslationResult {
        TranslationResult(texts: outputs.map { fakeModel.text(of: $0.ids) })
    }

    static func translate(_ text: String, to target: String) -> String {
        "<\(target)> " + text.split(separator: " ").reversed().joined(separator: " ")
    }
}

/// A `Seq2SeqModel` whose every step outputs the next token of its source (one per
/// character, numbered on first sight), then the end token.
final class CharacterSpellingModel: Seq2SeqModel, @unchecked Sendable {
    static let start = 0, end = 1
    let vocabularySize = 4096
    let maxSourcePositions = 2048
    let maxTargetPositions = 2048
    private let lock = NSLock()
    private var characters: [Character] = ["\u{2}", "\u{3}"]  // start and end, never shown
    private var ids: [Character: Int] = [:]
    private var sourceOf: [ObjectIdentifier: [Int]] = [:]
    private var nextTokens: [Int] = []
    private var started = 0
    var failWith: Error?
    var gate: DispatchSemaphore?

    /// Decoder steps begun (a step held by `gate` counts).
    var stepsStarted: Int {
        lock.lock()
        defer { lock.unlock() }
        return started
    }

    func ids(of text: String) -> [Int] {
        lock.lock()
        defer { lock.unlock() }
        return text.map { character in
            if let id = ids[character] { return id }
            characters.append(character)
            ids[character] = characters.count - 1
            return characters.count - 1
        }
    }

    func text(of ids: [Int]) -> String {
        lock.lock()
        defer { lock.unlock() }
        return String(ids.filter { $0 > Self.end }.map { characters[$0] })
    }

    private func cache(capacity: Int) -> KVCache {
        KVCache(layers: 1, heads: 1, headDim: 1, capacity: max(1, capacity))
    }

    func encode(_ sources: [[Int]]) throws -> [EncodedSource] {
        sources.map { source in
            let memory = cache(capacity: source.count + 1)
            memory.advance(by: source.count)
            let encoded = EncodedSource(tokenCount: source.count, crossAttention: memory)
            lock.lock()
            sourceOf[ObjectIdentifier(encoded)] = source
            lock.unlock()
            return encoded
        }
    }

    func makeTargetCache(capacity: Int) -> KVCache { cache(capacity: capacity) }

    func decode(_ steps: [Seq2SeqStep], logits: UnsafeMutablePointer<Float>?, vocabulary: OutputVocabulary?) throws {
        lock.lock()
        started += 1
        lock.unlock()
        gate?.wait()
        if let failWith { throw failWith }
        lock.lock()
        nextTokens = steps.map { step in
            let source = sourceOf[ObjectIdentifier(step.source)] ?? []
            let position = step.target.length
            return position < source.count ? source[position] : Self.end
        }
        lock.unlock()
        for step in steps { step.target.advance(by: 1) }
        if let logits { try score(rows: 0..<steps.count, logits: logits, vocabulary: vocabulary) }
    }

    func score(rows: Range<Int>, logits: UnsafeMutablePointer<Float>, vocabulary: OutputVocabulary?) throws {
        for (i, row) in rows.enumerated() {
            let out = logits + i * vocabularySize
            out.update(repeating: -10, count: vocabularySize)
            out[nextTokens[row]] = 10
        }
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
    ///   - draft: the tiny model's speculative draft, if any.
    func startApp(
        slow: TimeInterval = 0, translation: Bool = true, ready: Bool = true, draft: GenerationDraft? = nil,
        _ configure: (inout ServerConfiguration) -> Void = { _ in }
    ) throws {
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
            GenerationService(
                name: "tiny", model: model, tokenizer: pipeline.tokenizer, defaults: pipeline.defaultParameters(),
                bosTokenID: 512, configuration: executorConfiguration, metrics: metrics, draft: draft)
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

    func post(_ path: String, _ body: String, headers: [String: String] = [:], port: Int? = nil) throws -> TestResponse
    {
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
    func assertOpenAIError(
        _ response: TestResponse, status: Int, code: String? = nil, mentions: String? = nil,
        file: StaticString = #filePath, line: UInt = #line
    ) throws -> String {
        XCTAssertEqual(response.status, status, response.text, file: file, line: line)
        let body = try json(response, file: file, line: line)
        let error = try XCTUnwrap(
            body["error"] as? [String: Any], "no error object: \(response.text)", file: file, line: line)
        XCTAssertEqual(Set(error.keys), ["message", "type", "code"], file: file, line: line)
        let message = try XCTUnwrap(error["message"] as? String, file: file, line: line)
        if let code { XCTAssertEqual(error["code"] as? String, code, message, file: file, line: line) }
        if let mentions {
            XCTAssertTrue(
                message.contains(mentions), "'\(message)' does not mention '\(mentions)'", file: file, line: line)
        }
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
            if event != nil || !data.isEmpty {
                events.append(SSEEvent(event: event, data: data.joined(separator: "\n")))
            }
        }
        return events
    }

    static func object(_ event: SSEEvent) -> [String: Any]? {
        (try? JSONSerialization.jsonObject(with: Data(event.data.utf8))) as? [String: Any]
    }
}
