import Foundation
import Generation
import XCTest

@testable import NLLB

/// Inputs the model cannot take are errors before any work, never silent truncation.
final class M2M100InputTests: XCTestCase {
    var translator: M2M100Translator!
    var model: M2M100Model { translator.model }
    /// A target language and a source language of the fixture.
    var target = 0, language = 0
    var vocabulary: Int { model.vocabularySize }

    override func setUpWithError() throws {
        translator = try M2M100Translator(directory: NLLBFixtures.model("tiny"))  // 64 positions
        let ref = try NLLBFixtures.reference("tiny")
        target = ref.target_languages[0]
        language = ref.sources[0][0]
    }

    func expect(_ expected: M2M100Error, file: StaticString = #filePath, line: UInt = #line, _ body: () throws -> Void)
    {
        XCTAssertThrowsError(try body(), file: file, line: line) { error in
            XCTAssertEqual(error as? M2M100Error, expected, file: file, line: line)
        }
    }

    func sentence(_ length: Int) -> [Int] { [language] + Array(repeating: 70, count: length - 2) + [2] }

    func testASourceLongerThanThePositionsIsAnError() throws {
        XCTAssertEqual(try translator.translate([sentence(64)], targetLanguageID: target).translations.count, 1)
        expect(.sourceTooLong(index: 1, tokens: 65, maxPositions: 64)) {
            _ = try translator.translate([sentence(10), sentence(65)], targetLanguageID: target)
        }
        expect(.sourceTooLong(index: 0, tokens: 65, maxPositions: 64)) {
            _ = try model.encoderHiddenStates([sentence(65)])
        }
        XCTAssertTrue("\(M2M100Error.sourceTooLong(index: 0, tokens: 65, maxPositions: 64))".contains("Split"))
    }

    func testTokensOutsideTheVocabulary() {
        let v = vocabulary
        expect(.tokenOutOfRange(id: v, vocabularySize: v)) {
            _ = try translator.translate([[language, v, 2]], targetLanguageID: target)
        }
        expect(.tokenOutOfRange(id: -1, vocabularySize: v)) {
            _ = try translator.translate([[language, -1, 2]], targetLanguageID: target)
        }
        expect(.tokenOutOfRange(id: v + 10, vocabularySize: v)) {
            _ = try translator.translate([sentence(5)], targetLanguageID: v + 10)
        }
    }

    func testAnEmptySource() {
        expect(.emptySource(index: 1)) { _ = try translator.translate([sentence(4), []], targetLanguageID: target) }
    }

    /// max_length counts the decoder start: 64 positions read, so 64 new tokens at most.
    func testATargetBudgetPastThePositionsIsAnError() throws {
        var parameters = translator.defaultParameters(targetLanguageID: target)
        parameters.generation.maxNewTokens = 64
        _ = try translator.translate([sentence(5)], targetLanguageID: target, parameters: parameters)
        parameters.generation.maxNewTokens = 65
        XCTAssertThrowsError(try translator.translate([sentence(5)], targetLanguageID: target, parameters: parameters))
        { error in
            guard case .invalidParameter(let name, let value, let reason) = error as? GenerationError else {
                return XCTFail("\(error)")
            }
            XCTAssertEqual(name, "max_new_tokens")
            XCTAssertEqual(value, "65")
            XCTAssertTrue(reason.contains("at most 64 new tokens"), reason)
        }
        parameters.generation.maxNewTokens = nil
        parameters.generation.maxLength = 66
        XCTAssertThrowsError(try translator.translate([sentence(5)], targetLanguageID: target, parameters: parameters))
        { error in
            guard case .invalidParameter(let name, _, _) = error as? GenerationError else { return XCTFail("\(error)") }
            XCTAssertEqual(name, "max_length")
        }
    }

    /// Driving the decoder by hand past its table or its cache is refused too.
    func testDecoderStepsPastThePositionsOrTheCache() throws {
        let source = try model.encode([sentence(5)])[0]
        let small = model.makeTargetCache(capacity: 2)
        for token in [2, target] {
            try model.decode([Seq2SeqStep(target: small, source: source, token: token)], logits: nil)
        }
        expect(.cacheFull(position: 2, capacity: 2)) {
            try model.decode([Seq2SeqStep(target: small, source: source, token: 7)], logits: nil)
        }
        let full = model.makeTargetCache(capacity: 1000)
        XCTAssertEqual(full.capacity, 64, "a cache never holds more than the decoder's positions")
        for _ in 0..<64 { try model.decode([Seq2SeqStep(target: full, source: source, token: 7)], logits: nil) }
        expect(.targetTooLong(position: 64, maxPositions: 64)) {
            try model.decode([Seq2SeqStep(target: full, source: source, token: 7)], logits: nil)
        }
        let foreign = KVCache(layers: 3, heads: 4, headDim: 8, capacity: 8)
        XCTAssertThrowsError(try model.decode([Seq2SeqStep(target: foreign, source: source, token: 7)], logits: nil)) {
            error in
            guard case .foreignCache = error as? M2M100Error else { return XCTFail("\(error)") }
        }
    }

    func testInvalidGenerationParameters() throws {
        var parameters = translator.defaultParameters(targetLanguageID: target)
        parameters.numBeams = 0
        XCTAssertThrowsError(try translator.translate([sentence(5)], targetLanguageID: target, parameters: parameters))
        parameters.numBeams = 4
        parameters.generation.doSample = true
        XCTAssertThrowsError(try translator.translate([sentence(5)], targetLanguageID: target, parameters: parameters))
        { error in
            XCTAssertTrue("\(error)".contains("beam sampling is not supported"), "\(error)")
        }
        parameters.generation.doSample = false
        parameters.generation.eosTokenIDs = [99999]
        XCTAssertThrowsError(try translator.translate([sentence(5)], targetLanguageID: target, parameters: parameters))
        { error in
            guard case .invalidParameter(let name, _, _) = error as? GenerationError else { return XCTFail("\(error)") }
            XCTAssertEqual(name, "eos_token_id")
        }
    }
}
