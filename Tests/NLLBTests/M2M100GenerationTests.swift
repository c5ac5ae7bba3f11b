import Foundation
import Generation
import XCTest

@testable import NLLB

/// Greedy and beam-search ids against transformers' `generate(input_ids,
/// attention_mask, forced_bos_token_id=<target language>, ...)`, one source at a time.
final class M2M100GenerationTests: XCTestCase {
    func checkEveryCase(_ name: String) throws {
        let translator = try M2M100Translator(directory: NLLBFixtures.model(name))
        let ref = try NLLBFixtures.reference(name)
        for c in ref.cases {
            for (i, source) in ref.sources.enumerated() {
                let target = ref.target_languages[i]
                let parameters = NLLBFixtures.parameters(c.parameters, translator: translator, targetLanguage: target)
                let result = try translator.translate([source], targetLanguageID: target, parameters: parameters)
                let translation = result.translations[0]
                XCTAssertEqual(translation.outputIDs, c.outputs[i], "\(name) \(c.name) source \(i)")
                let expectedReason: FinishReason = c.outputs[i].last == 2 && c.outputs[i].count > 2 ? .eos : .length
                XCTAssertEqual(translation.finishReason, expectedReason, "\(name) \(c.name) source \(i)")
                XCTAssertEqual(result.timings.targetTokens, c.outputs[i].count - 1)
                XCTAssertEqual(translation.score == nil, c.parameters.num_beams == 1)
            }
        }
    }

    func testTinyEveryCaseMatchesTransformersExactly() throws {
        try checkEveryCase("tiny")
    }

    func testTinyF16UntiedEveryCaseMatchesTransformersExactly() throws {
        try checkEveryCase("tiny-f16-untied")
    }

    /// The fixtures exercise what they claim: outputs that end in </s> at different
    /// lengths, and options that change the chosen hypothesis.
    func testFixturesCoverTheBeamSearchOptions() throws {
        let ref = try NLLBFixtures.reference("tiny")
        let outputs = Dictionary(uniqueKeysWithValues: ref.cases.map { ($0.name, $0.outputs) })
        let beam = try XCTUnwrap(outputs["beam4"])
        XCTAssertNotEqual(beam, outputs["beam4_early_stopping"], "early_stopping must change some output")
        XCTAssertNotEqual(beam, outputs["beam4_length_penalty_2"], "length_penalty must change some output")
        XCTAssertNotEqual(
            outputs["beam4_length_penalty_2"], outputs["beam4_length_penalty_2_never"],
            "\"never\" must change some output")
        XCTAssertNotEqual(beam, outputs["greedy"], "beam search must differ from greedy somewhere")
        XCTAssertNotEqual(outputs["greedy"], outputs["greedy_no_repeat_ngram_3"])
        XCTAssertNotEqual(outputs["greedy"], outputs["greedy_repetition_1.2"])
        let lengths = Set(ref.cases.flatMap { $0.outputs.filter { $0.last == 2 && $0.count > 2 }.map(\.count) })
        XCTAssertGreaterThan(lengths.count, 5, "hypotheses should end in </s> at many lengths")
    }

    func testTranslationIDsDropTheDecoderStartLanguageAndEOS() throws {
        let translator = try M2M100Translator(directory: NLLBFixtures.model("tiny"))
        let ref = try NLLBFixtures.reference("tiny")
        let greedy = try XCTUnwrap(ref.cases.first { $0.name == "greedy" })
        let i = try XCTUnwrap(greedy.outputs.firstIndex { $0.last == 2 })
        let target = ref.target_languages[i]
        var parameters = translator.defaultParameters(targetLanguageID: target)
        parameters.generation.maxNewTokens = 24
        let translation = try translator.translate([ref.sources[i]], targetLanguageID: target, parameters: parameters)
            .translations[0]
        XCTAssertEqual(translation.outputIDs, greedy.outputs[i])
        XCTAssertEqual(translation.translationIDs, Array(greedy.outputs[i].dropFirst(2).dropLast()))
    }

    /// generation_config.json (max_length 40, as the script scales NLLB's 200) is
    /// what the translator uses by default: greedy, decoder start 2, EOS 2.
    func testDefaultsComeFromGenerationConfig() throws {
        let translator = try M2M100Translator(directory: NLLBFixtures.model("tiny"))
        let p = translator.defaultParameters(targetLanguageID: 7)
        XCTAssertEqual(p.numBeams, 1)
        XCTAssertEqual(p.generation.maxLength, 40)
        XCTAssertNil(p.generation.maxNewTokens)
        XCTAssertEqual(p.decoderStartTokenID, 2)
        XCTAssertEqual(p.generation.eosTokenIDs, [2])
        XCTAssertEqual(p.forcedBOSTokenID, 7)
        XCTAssertFalse(p.generation.doSample)
    }

    func testSeededSamplingIsReproducibleAndStartsWithTheLanguage() throws {
        let translator = try M2M100Translator(directory: NLLBFixtures.model("tiny"))
        let ref = try NLLBFixtures.reference("tiny")
        let target = ref.target_languages[2]
        var parameters = translator.defaultParameters(targetLanguageID: target)
        parameters.generation.doSample = true
        parameters.generation.temperature = 1.5
        parameters.generation.topK = 0
        parameters.generation.seed = 7
        let a = try translator.translate(ref.sources, targetLanguageID: target, parameters: parameters)
        let b = try translator.translate(ref.sources, targetLanguageID: target, parameters: parameters)
        XCTAssertEqual(a.translations, b.translations)
        XCTAssertTrue(a.translations.allSatisfy { Array($0.outputIDs.prefix(2)) == [2, target] })
        parameters.generation.seed = 8
        let c = try translator.translate(ref.sources, targetLanguageID: target, parameters: parameters)
        XCTAssertNotEqual(a.translations.map(\.outputIDs), c.translations.map(\.outputIDs))
    }

    func testShouldStopCancelsBetweenSteps() throws {
        let translator = try M2M100Translator(directory: NLLBFixtures.model("tiny"))
        let ref = try NLLBFixtures.reference("tiny")
        for beams in [1, 4] {
            let target = ref.target_languages[0]
            var parameters = translator.defaultParameters(targetLanguageID: target)
            parameters.numBeams = beams
            var asked = 0
            let result = try translator.translate(ref.sources, targetLanguageID: target, parameters: parameters) {
                asked += 1
                return asked > 3
            }
            XCTAssertEqual(result.timings.decoderSteps, 3)
            for translation in result.translations {
                XCTAssertEqual(translation.finishReason, .cancelled)
                XCTAssertEqual(translation.outputIDs.count, 4, "decoder start + 3 tokens")
            }
        }
    }
}
