import Foundation
import XCTest

/// Broken model folders: exit 1 with one clear line, never a crash.
final class ModelFolderErrorTests: XCTestCase {
    var folder: URL!

    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("cli-folder-\(UUID().uuidString)")
        try FileManager.default.copyItem(at: CLI.fixtures.appendingPathComponent("GPT2/tiny"), to: folder)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: folder) }

    func generate() throws -> CLI.Result {
        try CLI.run(["generate", "--model", folder.path, "--prompt", "Hi", "--max-new-tokens", "3"])
    }

    func assertFails(containing text: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let result = try generate()
        XCTAssertEqual(result.status, 1, result.stderr, file: file, line: line)
        XCTAssertTrue(
            result.stderr.contains(text), "stderr should mention \(text): \(result.stderr)", file: file, line: line)
        XCTAssertEqual(result.stderr.filter { $0 == "\n" }.count, 1, result.stderr, file: file, line: line)
    }

    func testTruncatedWeights() throws {
        let weights = folder.appendingPathComponent("model.safetensors")
        let data = try Data(contentsOf: weights)
        try data.prefix(data.count / 2).write(to: weights)
        try assertFails(containing: "truncated")
    }

    func testWeightsOfAnotherShape() throws {
        let config = folder.appendingPathComponent("config.json")
        var json = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: config)) as? [String: Any])
        json["n_embd"] = 64
        try JSONSerialization.data(withJSONObject: json).write(to: config)
        try assertFails(containing: "config")
    }

    func testNotAGPT2Config() throws {
        let config = folder.appendingPathComponent("config.json")
        var json = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: config)) as? [String: Any])
        json["model_type"] = "m2m_100"
        try JSONSerialization.data(withJSONObject: json).write(to: config)
        try assertFails(containing: "model_type")
    }

    func testMalformedConfig() throws {
        try "{ not json".write(to: folder.appendingPathComponent("config.json"), atomically: true, encoding: .utf8)
        try assertFails(containing: "config.json")
        try #"{"model_type": "gpt2", "n_layer": "two"}"#.write(
            to: folder.appendingPathComponent("config.json"), atomically: true, encoding: .utf8)
        try assertFails(containing: "n_layer")
    }

    func testMissingTokenizer() throws {
        for name in ["tokenizer.json", "vocab.json", "merges.txt"] {
            try FileManager.default.removeItem(at: folder.appendingPathComponent(name))
        }
        try assertFails(containing: "tokenizer")
    }

    func testMissingWeights() throws {
        try FileManager.default.removeItem(at: folder.appendingPathComponent("model.safetensors"))
        try assertFails(containing: "model.safetensors")
    }

    func testNotAFolder() throws {
        let result = try CLI.run([
            "generate", "--model", folder.appendingPathComponent("config.json").path, "--prompt", "x",
        ])
        XCTAssertEqual(result.status, 1)
        XCTAssertTrue(result.stderr.contains("not a folder"))
    }
}
