import Foundation
import Generation
import Tensor
import Tokenizer
import XCTest

@testable import NLLB

/// Translating with a restricted output vocabulary (CTranslate2's vocabulary map): the scored
/// tokens keep their logits, no other token can come out, and a vocabulary that holds what the
/// model would have said anyway changes nothing in greedy decoding.
final class VocabularyRestrictionTests: XCTestCase {
    static let folder = NLLBFixtures.model("tiny")

    /// One decoder step of `source` with the given vocabulary, from a fresh cache.
    func firstStepLogits(_ model: M2M100Model, source: [Int], vocabulary: OutputVocabulary?) throws -> [Float] {
        let encoded = try model.encode([source])[0]
        let cache = model.makeTargetCache(capacity: 4)
        var logits = [Float](repeating: .nan, count: model.vocabularySize)
        try logits.withUnsafeMutableBufferPointer {
            try model.decode(
                [Seq2SeqStep(target: cache, source: encoded, token: model.config.decoderStartTokenID)],
                logits: $0.baseAddress!, vocabulary: vocabulary)
        }
        return logits
    }

    func testScoredTokensKeepTheirLogitsAndTheRestAreMinusInfinity() throws {
        let reference = try NLLBFixtures.reference("tiny")
        for precision in [WeightPrecision.f32, .int8] {
            let model = try M2M100Model(directory: Self.folder, precision: precision)
            let vocabulary = OutputVocabulary(
                Array(stride(from: 0, to: model.vocabularySize, by: 7)) + [model.vocabularySize - 1])
            let full = try firstStepLogits(model, source: reference.sources[1], vocabulary: nil)
            let restricted = try firstStepLogits(model, source: reference.sources[1], vocabulary: vocabulary)
            for token in 0..<model.vocabularySize {
                if vocabulary.contains(token) {
                    XCTAssertEqual(
                        restricted[token], full[token], accuracy: 1e-5 * max(1, abs(full[token])),
                        "\(precision) token \(token)")
                } else {
                    XCTAssertEqual(restricted[token], -.infinity, "\(precision) token \(token)")
                }
            }
        }
    }

    func testATokenOutsideTheModelIsAnErrorNotACrash() throws {
        let model = try M2M100Model(directory: Self.folder)
        let source = try NLLBFixtures.reference("tiny").sources[0]
        for outside in [-1, model.vocabularySize] {
            XCTAssertThrowsError(
                try firstStepLogits(model, source: source, vocabulary: OutputVocabulary([2, outside]))
            ) { error in
                XCTAssertEqual(
                    error as? M2M100Error, .tokenOutOfRange(id: outside, vocabularySize: model.vocabularySize))
            }
        }
    }

    func testAVocabularyHoldingTheGreedyOutputChangesNothingAndOneWithoutItChangesTheOutput() throws {
        let translator = try M2M100Translator(directory: Self.folder)
        let reference = try NLLBFixtures.reference("tiny")
        let greedy = try XCTUnwrap(reference.cases.first { $0.name == "greedy" })
        var changed = 0
        for (i, source) in reference.sources.enumerated() {
            let target = reference.target_languages[i]
            let expected = greedy.outputs[i]
            var parameters = NLLBFixtures.parameters(greedy.parameters, translator: translator, targetLanguage: target)
            parameters.outputVocabulary = OutputVocabulary(expected + [2])
            let same = try translator.translate([source], targetLanguageID: target, parameters: parameters)
                .translations[0]
            XCTAssertEqual(same.outputIDs, expected, "source \(i)")

            // Without the first token the model chose after the language code, it must say something else, from what is left.
            let generated = Array(expected.dropFirst(2))
            guard let banned = generated.first(where: { $0 != 2 }) else { continue }
            let allowed = (0..<translator.model.vocabularySize).filter { $0 != banned && $0 % 3 != 0 || $0 == 2 }
            parameters.outputVocabulary = OutputVocabulary(allowed)
            let other = try translator.translate([source], targetLanguageID: target, parameters: parameters)
                .translations[0]
            XCTAssertNotEqual(other.outputIDs, expected, "source \(i)")
            for token in other.outputIDs.dropFirst(2) {
                XCTAssertTrue(parameters.outputVocabulary!.contains(token), "source \(i): \(token) is not allowed")
            }
            changed += 1
        }
        XCTAssertGreaterThan(changed, 2)
    }

    func testBeamSearchChoosesOnlyAllowedTokens() throws {
        let translator = try M2M100Translator(directory: Self.folder)
        let reference = try NLLBFixtures.reference("tiny")
        let allowed = OutputVocabulary((0..<translator.model.vocabularySize).filter { $0 % 5 == 1 || $0 == 2 })
        for (i, source) in reference.sources.enumerated() {
            var parameters = translator.defaultParameters(targetLanguageID: reference.target_languages[i])
            parameters.numBeams = 4
            parameters.generation.maxNewTokens = 12
            parameters.outputVocabulary = allowed
            let output = try translator.translate(
                [source], targetLanguageID: reference.target_languages[i], parameters: parameters
            ).translations[0]
            for token in output.outputIDs.dropFirst(2) {
                XCTAssertTrue(allowed.contains(token), "source \(i): \(token)")
            }
            XCTAssertTrue(output.score?.isFinite == true, "source \(i): a finite score")
        }
    }

    func testThePipelineRestrictsToTheMapsCandidatesForTheBatch() throws {
        let plain = try NLLBPipeline(directory: Self.folder)
        let tokenizer = plain.tokenizer
        let text = "The dragon slept under the old tree."
        let unrestricted = try plain.translate([text], options: .init(target: "fra_Latn")).translations[0].sentences[0]
            .outputIDs
        // Every source piece may become itself or the first piece the unrestricted translation used.
        let sourceIDs = tokenizer.encode(text)
        let firstWord = try XCTUnwrap(unrestricted.dropFirst(2).first { $0 != 2 })
        let firstPiece = try XCTUnwrap(tokenizer.token(forID: firstWord))
        var lines = sourceIDs.compactMap { tokenizer.token(forID: $0) }.map { "\($0)\t\($0) \(firstPiece)" }
        lines.append("\t\(try XCTUnwrap(tokenizer.token(forID: 10)))")
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("vmap-\(UUID().uuidString).txt")
        try lines.joined(separator: "\n").write(to: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: file) }

        let pipeline = try NLLBPipeline(directory: Self.folder, vocabularyMap: file)
        let result = try pipeline.translate([text], options: .init(target: "fra_Latn"))
        let french = try tokenizer.languageTokenID("fra_Latn")
        let expected = Set(sourceIDs + [firstWord, 10, french, tokenizer.unkID, tokenizer.bosID, tokenizer.eosID])
        XCTAssertEqual(result.outputVocabularySize, expected.count)
        let output = result.translations[0].sentences[0].outputIDs
        for token in output { XCTAssertTrue(expected.contains(token), "\(token) is not a candidate") }
        XCTAssertNotEqual(output, unrestricted, "the map must have restricted something")

        XCTAssertThrowsError(
            try NLLBPipeline(directory: Self.folder, vocabularyMap: file.appendingPathExtension("missing"))
        ) { error in
            XCTAssertTrue(error is VocabularyMapError, "\(error)")
        }
    }

    // MARK: - Against CTranslate2 (scripts/fixtures/make_nllb_vmap_fixture.py)

    struct CTranslate2Reference: Decodable {
        struct Outputs: Decodable {
            let vmap: [Int]
            let no_vmap: [Int]
        }
        struct Source: Decodable {
            let reference_index: Int
            let source_ids: [Int]
            let target_language: Int
            let candidates: [Int]
            let outputs: [String: Outputs]
        }
        struct Batch: Decodable {
            let candidates: [Int]
            let outputs: [String: [[Int]]]
        }
        let fixed_candidates: [Int]
        let sources: [Source]
        let batch: Batch
    }

    /// CTranslate2's decoding settings of the fixture: 24 tokens after the decoder start, and
    /// beam search stopping once 4 hypotheses have finished (its patience 1 is transformers'
    /// early_stopping=True).
    func ctranslate2Parameters(_ mode: String, translator: M2M100Translator, target: Int) -> Seq2SeqParameters {
        var parameters = translator.defaultParameters(targetLanguageID: target)
        parameters.generation.maxNewTokens = 24
        parameters.generation.maxLength = nil
        if mode == "beam4" {
            parameters.numBeams = 4
            parameters.lengthPenalty = 1
            parameters.earlyStopping = .whenBeamsFull
        }
        return parameters
    }

    func testCandidatesAndTranslationsMatchCTranslate2() throws {
        let reference = try JSONDecoder().decode(
            CTranslate2Reference.self,
            from: Data(contentsOf: NLLBFixtures.root.appendingPathComponent("tiny.vmap-reference.json")))
        let tokenizer = try NLLBTokenizer(folder: Self.folder)
        let map = try VocabularyMap(
            contentsOf: NLLBFixtures.root.appendingPathComponent("tiny.vmap.txt"), tokenizer: tokenizer)
        let translator = try M2M100Translator(directory: Self.folder)
        XCTAssertEqual(map.vocabulary(sources: [], targetPrefix: []).tokens, reference.fixed_candidates)

        var restrictedDiffers = 0
        for source in reference.sources {
            let vocabulary = map.vocabulary(sources: [source.source_ids], targetPrefix: [source.target_language])
            XCTAssertEqual(vocabulary.tokens, source.candidates, "source \(source.reference_index)")
            for (mode, outputs) in source.outputs {
                var parameters = ctranslate2Parameters(mode, translator: translator, target: source.target_language)
                let full = try translator.translate(
                    [source.source_ids], targetLanguageID: source.target_language, parameters: parameters)
                XCTAssertEqual(
                    full.translations[0].outputIDs, outputs.no_vmap,
                    "source \(source.reference_index) "
                        + "\(mode), whole vocabulary")
                parameters.outputVocabulary = vocabulary
                let restricted = try translator.translate(
                    [source.source_ids], targetLanguageID: source.target_language, parameters: parameters)
                XCTAssertEqual(
                    restricted.translations[0].outputIDs, outputs.vmap,
                    "source "
                        + "\(source.reference_index) \(mode), with the map")
                if outputs.vmap != outputs.no_vmap { restrictedDiffers += 1 }
            }
        }
        XCTAssertGreaterThanOrEqual(restrictedDiffers, 4, "the fixture must show the map changing translations")

        // Translated together, the sources share one candidate set: the union over the batch.
        let union = map.vocabulary(
            sources: reference.sources.map(\.source_ids), targetPrefix: reference.sources.map(\.target_language))
        XCTAssertEqual(union.tokens, reference.batch.candidates)
        for (mode, outputs) in reference.batch.outputs {
            for (source, expected) in zip(reference.sources, outputs) {
                var parameters = ctranslate2Parameters(mode, translator: translator, target: source.target_language)
                parameters.outputVocabulary = union
                let output = try translator.translate(
                    [source.source_ids], targetLanguageID: source.target_language, parameters: parameters)
                XCTAssertEqual(
                    output.translations[0].outputIDs, expected,
                    "source \(source.reference_index) "
                        + "\(mode), in the batch")
            }
        }
    }
}
