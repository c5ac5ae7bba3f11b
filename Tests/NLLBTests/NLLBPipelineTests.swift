import Foundation
import Tokenizer
import XCTest

@testable import NLLB

/// Text in, text out: sentence splitting, batching, long inputs, both tokenizer sources.
final class NLLBPipelineTests: XCTestCase {
    static let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/NLLB/tiny")

    struct TextCase: Decodable {
        let text: String
        let target: String
        let num_beams: Int
        let output_ids: [Int]
        let translation: String
    }

    func cases() throws -> [TextCase] {
        struct File: Decodable { let text_cases: [TextCase] }
        let url = Self.folder.deletingLastPathComponent().appendingPathComponent("tiny.reference.json")
        return try JSONDecoder().decode(File.self, from: Data(contentsOf: url)).text_cases
    }

    func testTextCasesMatchTransformers() throws {
        let pipeline = try NLLBPipeline(directory: Self.folder)
        for c in try cases() {
            var options = NLLBPipeline.Options(target: c.target)
            options.beams = c.num_beams
            let result = try pipeline.translate([c.text], options: options)
            XCTAssertEqual(result.translations[0].sentences.map(\.outputIDs), [c.output_ids], c.text)
            XCTAssertEqual(result.translations[0].text, c.translation)
        }
    }

    func testTokenizerJSONAloneGivesTheSameTranslations() throws {
        let copy = FileManager.default.temporaryDirectory.appendingPathComponent("nllb-json-only-\(UUID().uuidString)")
        try FileManager.default.copyItem(at: Self.folder, to: copy)
        defer { try? FileManager.default.removeItem(at: copy) }
        try FileManager.default.removeItem(at: copy.appendingPathComponent("sentencepiece.bpe.model"))
        let pipeline = try NLLBPipeline(directory: copy)
        for c in try cases() where c.num_beams == 1 {
            let result = try pipeline.translate([c.text], options: .init(target: c.target))
            XCTAssertEqual(result.translations[0].sentences[0].outputIDs, c.output_ids)
        }
    }

    func testManyTextsInOneBatchEqualOneAtATime() throws {
        let pipeline = try NLLBPipeline(directory: Self.folder)
        let french = try cases().filter { $0.target == "fra_Latn" }
        let result = try pipeline.translate(french.map(\.text), options: .init(target: "fra_Latn"))
        XCTAssertEqual(result.translations.map(\.text), french.map(\.translation))
    }

    func testSentenceLongerThanThePositionsIsSplitNotTruncated() throws {
        let pipeline = try NLLBPipeline(directory: Self.folder)  // 64 positions: 62 tokens per sentence at most
        let long = Array(repeating: "the dragon slept under the old tree", count: 12).joined(separator: " and ")
        XCTAssertGreaterThan(pipeline.tokenizer.encode(long).count, pipeline.maxSentenceTokens)
        var options = NLLBPipeline.Options(target: "fra_Latn")
        options.maxNewTokens = 4
        let result = try pipeline.translate([long], options: options)
        let pieces = result.translations[0].sentences
        XCTAssertGreaterThan(pieces.count, 1)
        XCTAssertEqual(pieces.map(\.source).joined(separator: " "), long, "every word is translated, none dropped")
        for piece in pieces {
            XCTAssertLessThanOrEqual(pipeline.tokenizer.encode(piece.source).count, pipeline.maxSentenceTokens)
        }
    }

    func testErrors() throws {
        let pipeline = try NLLBPipeline(directory: Self.folder)
        XCTAssertThrowsError(try pipeline.translate(["  "], options: .init(target: "fra_Latn"))) {
            XCTAssertEqual($0 as? NLLBPipelineError, .emptyText)
        }
        XCTAssertThrowsError(try pipeline.translate(["Hi."], options: .init(target: "fr"))) { error in
            XCTAssertTrue("\(error)".contains("fra_Latn"), "\(error)")
        }
        XCTAssertThrowsError(try pipeline.translate(["Hi."], options: .init(source: "eng_latn", target: "fra_Latn")))
    }
}
