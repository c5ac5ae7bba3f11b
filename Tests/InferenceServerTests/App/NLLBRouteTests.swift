import Foundation
import NLLB
import XCTest

@testable import InferenceServer
@testable import ServiceTestSupport

/// The translation routes over the real tiny NLLB model: transformers' translations
/// come back through the legacy and native APIs, tags intact, batched like alone.
final class NLLBRouteTests: AppTestCase {
    struct TextCase: Decodable {
        let text: String
        let target: String
        let num_beams: Int
        let output_ids: [Int]
        let translation: String
        var endedWithEOS: Bool { output_ids.count > 2 && output_ids.last == 2 }
    }

    var cases: [TextCase] = []

    override func setUpWithError() throws {
        try startApp(translation: false, ready: false)
        let pipeline = try NLLBPipeline(directory: AppFixtures.root.appendingPathComponent("NLLB/tiny"))
        try app.addTranslationModel(name: "nllb", backend: NLLBTranslationBackend(pipeline: pipeline))
        try app.markReady()
        struct File: Decodable { let text_cases: [TextCase] }
        cases = try JSONDecoder().decode(
            File.self, from: Data(contentsOf: AppFixtures.root.appendingPathComponent("NLLB/tiny.reference.json"))
        ).text_cases
    }

    var french: [TextCase] { cases.filter { $0.target == "fra_Latn" } }

    /// The old service asked for max_length 1000, so only sentences the model ended with
    /// `</s>` within the fixture's budget translate identically through /translate.
    func testLegacyTranslateKeepsTagsAndTranslatesEverySentence() throws {
        let ended = french.filter { $0.endedWithEOS }
        XCTAssertGreaterThanOrEqual(ended.count, 2)
        let (a, b) = (ended[0], ended[1])
        let text = "[Title]: \(b.text)\n\n[Content]: \(a.text) \(b.text)\n\n[Content 2]: \(a.text)"
        let body = try JSONSerialization.data(withJSONObject: ["Text": text, "Tgt_lang": "fra_Latn"])
        let response = try post("/translate", String(decoding: body, as: UTF8.self))
        XCTAssertEqual(response.status, 200, response.text)
        let object = try json(response)
        XCTAssertEqual(Set(object.keys), ["Content", "Status"])
        let expected =
            "[Title]: \(b.translation)\n\n[Content]: \(a.translation) \(b.translation)\n\n[Content 2]: "
            + "\(a.translation)"
        XCTAssertEqual(object["Content"] as? String, expected)
    }

    func testLegacyErrors() throws {
        let unknown = try post("/translate", #"{"Text":"Hello!","Tgt_lang":"french"}"#)
        XCTAssertEqual(unknown.status, 400)
        XCTAssertEqual(try json(unknown)["Status"] as? Bool, false)
        XCTAssertTrue((try json(unknown)["error"] as? String ?? "").contains("fra_Latn"))
        let empty = try post("/translate", #"{"Text":"","Tgt_lang":"fra_Latn"}"#)
        XCTAssertEqual(empty.status, 400)
        XCTAssertEqual(try json(empty) as NSDictionary, ["error": "No text provided", "Status": false] as NSDictionary)
    }

    func testNativeTranslateWithBeams() throws {
        let spanish = try XCTUnwrap(cases.first { $0.target == "spa_Latn" })
        let body = try JSONSerialization.data(withJSONObject: [
            "text": spanish.text, "target": "spa_Latn", "beams": spanish.num_beams,
        ])
        let response = try post("/v1/translate", String(decoding: body, as: UTF8.self))
        XCTAssertEqual(response.status, 200, response.text)
        XCTAssertEqual(try json(response)["translations"] as? [String], [spanish.translation])
    }

    func testConcurrentRequestsGiveWhatTheyGiveAlone() throws {
        let expected = french.map(\.translation)
        let results = ResultsBox(count: 12)
        let texts = french.map(\.text)
        let port = self.port
        DispatchQueue.concurrentPerform(iterations: 12) { i in
            let body = try! JSONSerialization.data(withJSONObject: [
                "texts": [texts[i % texts.count]], "target": "fra_Latn",
            ])
            let response = try? TestClient.request(
                port: port, "POST", "/v1/translate", headers: ["Content-Type": "application/json"],
                body: String(decoding: body, as: UTF8.self))
            let object = response.flatMap { try? JSONSerialization.jsonObject(with: Data($0.body)) as? [String: Any] }
            results.set(i, (object?["translations"] as? [String])?.first)
        }
        for i in 0..<12 { XCTAssertEqual(results.get(i), expected[i % expected.count], "request \(i)") }
    }
}

final class ResultsBox: @unchecked Sendable {
    private let lock = NSLock()
    private var values: [String?]
    init(count: Int) { values = Array(repeating: nil, count: count) }
    func set(_ i: Int, _ value: String?) {
        lock.lock()
        values[i] = value
        lock.unlock()
    }
    func get(_ i: Int) -> String? {
        lock.lock()
        defer { lock.unlock() }
        return values[i]
    }
}
