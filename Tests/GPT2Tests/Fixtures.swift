import Foundation
import Tensor
import XCTest

/// Paths and readers for the committed golden fixtures (made by scripts/fixtures/make_gpt2_fixtures.py).
enum Fixtures {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures")
    static let gpt2 = root.appendingPathComponent("GPT2")

    static func model(_ name: String) -> URL { gpt2.appendingPathComponent(name) }

    struct Prompt: Decodable {
        let text: String
        let ids: [Int]
        let greedy: [Int]
        let greedy_penalized: [Int]
        let greedy_until_eos: [Int]
    }

    struct ProcessorCase: Decodable {
        let name: String
        let input_ids: [Int]
        let scores: [Float]
        let expected: [Float?]
    }

    struct Reference: Decodable {
        let greedy_max_new_tokens: Int
        let prompts: [Prompt]
        let processors: [ProcessorCase]?
    }

    static func reference(_ name: String) throws -> Reference {
        let data = try Data(contentsOf: gpt2.appendingPathComponent("\(name).reference.json"))
        return try JSONDecoder().decode(Reference.self, from: data)
    }

    /// Reference logits of prompt `index`: [tokens, vocab] as rows.
    static func logits(_ name: String, prompt index: Int) throws -> (rows: Int, cols: Int, values: [Float]) {
        let file = try SafeTensorsFile(path: gpt2.appendingPathComponent("\(name).reference.safetensors").path)
        let view = try XCTUnwrap(file.view("logits.\(index)"))
        let floats = try view.floats()
        return (view.shape[0], view.shape[1], floats.toArray())
    }
}

/// Largest |a - b| over two equal-length sequences.
func maxAbsDifference<A: Collection, B: Collection>(_ a: A, _ b: B) -> Float
where A.Element == Float, B.Element == Float {
    zip(a, b).reduce(0) { max($0, abs($1.0 - $1.1)) }
}
