import Foundation
import Generation
import Tensor
import XCTest

@testable import NLLB

/// Paths and readers for the committed golden fixtures (made by scripts/fixtures/make_nllb_fixtures.py).
enum NLLBFixtures {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures").appendingPathComponent("NLLB")
    static let names = ["tiny", "tiny-f16-untied"]

    static func model(_ name: String) -> URL { root.appendingPathComponent(name) }

    /// The generate() keyword arguments of a case, as the script recorded them.
    struct CaseParameters: Decodable {
        let num_beams: Int
        let max_new_tokens: Int?
        let length_penalty: Float?
        let early_stopping: String?
        let no_repeat_ngram_size: Int?
        let repetition_penalty: Float?
    }

    struct Case: Decodable {
        let name: String
        let parameters: CaseParameters
        /// One generate() row per source.
        let outputs: [[Int]]
    }

    struct TeacherForced: Decodable {
        let source: Int
        let decoder_input_ids: [Int]
    }

    struct Reference: Decodable {
        let sources: [[Int]]
        let target_languages: [Int]
        let cases: [Case]
        let teacher_forced: [TeacherForced]
    }

    static func reference(_ name: String) throws -> Reference {
        let data = try Data(contentsOf: root.appendingPathComponent("\(name).reference.json"))
        return try JSONDecoder().decode(Reference.self, from: data)
    }

    /// A tensor of `<name>.reference.safetensors` as floats, with its shape.
    static func tensor(_ name: String, _ key: String) throws -> (shape: [Int], values: [Float]) {
        let file = try SafeTensorsFile(path: root.appendingPathComponent("\(name).reference.safetensors").path)
        let view = try XCTUnwrap(file.view(key), "\(key) missing from \(name).reference.safetensors")
        return (view.shape, try view.floats().toArray())
    }

    /// A case's parameters over the folder's generation_config.json, as generate(**kwargs) overlays them.
    static func parameters(_ c: CaseParameters, translator: M2M100Translator, targetLanguage: Int) -> Seq2SeqParameters
    {
        var p = translator.defaultParameters(targetLanguageID: targetLanguage)
        p.numBeams = c.num_beams
        if let n = c.max_new_tokens { p.generation.maxNewTokens = n }
        if let lp = c.length_penalty { p.lengthPenalty = lp }
        if let es = c.early_stopping { p.earlyStopping = BeamEarlyStopping(rawValue: es)! }
        if let n = c.no_repeat_ngram_size { p.generation.noRepeatNgramSize = n }
        if let r = c.repetition_penalty { p.generation.repetitionPenalty = r }
        return p
    }
}

/// Largest |a - b| over two equal-length sequences.
func maxAbsDifference<A: Collection, B: Collection>(_ a: A, _ b: B) -> Float
where A.Element == Float, B.Element == Float {
    precondition(a.count == b.count, "lengths differ: \(a.count) vs \(b.count)")
    return zip(a, b).reduce(0) { max($0, abs($1.0 - $1.1)) }
}
