import Foundation
import Generation
import XCTest

@testable import NLLB

/// Several sources of different lengths at once give what each gives alone (the
/// script checked transformers' padded batch against the same one-at-a-time ids).
final class M2M100BatchTests: XCTestCase {
    func testABatchGivesTheOneAtATimeOutputs() throws {
        for name in NLLBFixtures.names {
            let translator = try M2M100Translator(directory: NLLBFixtures.model(name))
            let ref = try NLLBFixtures.reference(name)
            for c in ref.cases {
                // One call per target language (forced_bos_token_id is per call), all its sources together.
                for target in Set(ref.target_languages) {
                    let indices = ref.sources.indices.filter { ref.target_languages[$0] == target }
                    let parameters = NLLBFixtures.parameters(
                        c.parameters, translator: translator, targetLanguage: target)
                    let result = try translator.translate(
                        indices.map { ref.sources[$0] }, targetLanguageID: target, parameters: parameters)
                    XCTAssertEqual(
                        result.translations.map(\.outputIDs), indices.map { c.outputs[$0] },
                        "\(name) "
                            + "\(c.name)")
                }
            }
        }
    }

    /// Every source into one language in one call: the beams of five inputs share
    /// each decoder step, and inputs that finish early leave the batch.
    func testMixedLengthBeamBatchMatchesSingles() throws {
        let translator = try M2M100Translator(directory: NLLBFixtures.model("tiny"))
        let ref = try NLLBFixtures.reference("tiny")
        let target = ref.target_languages[0]
        for beams in [1, 3, 4] {
            var parameters = translator.defaultParameters(targetLanguageID: target)
            parameters.numBeams = beams
            parameters.lengthPenalty = 1.5
            let batch = try translator.translate(ref.sources, targetLanguageID: target, parameters: parameters)
            for (i, source) in ref.sources.enumerated() {
                let alone = try translator.translate([source], targetLanguageID: target, parameters: parameters)
                    .translations[0]
                let together = batch.translations[i]
                XCTAssertEqual(together.outputIDs, alone.outputIDs, "beams \(beams) source \(i)")
                XCTAssertEqual(together.finishReason, alone.finishReason)
                // More rows per GEMM round differently in the last bits; the choices must not change.
                XCTAssertEqual(together.score ?? 0, alone.score ?? 0, accuracy: 1e-5)
            }
            XCTAssertEqual(batch.timings.sourceTokens, ref.sources.reduce(0) { $0 + $1.count })
            XCTAssertGreaterThan(
                batch.timings.decodedRows, batch.timings.decoderSteps,
                "steps must batch several "
                    + "sequences")
        }
    }

    func testAnEmptyBatchIsNoWork() throws {
        let translator = try M2M100Translator(directory: NLLBFixtures.model("tiny"))
        let result = try translator.translate([], targetLanguageID: 3)
        XCTAssertTrue(result.translations.isEmpty)
        XCTAssertEqual(result.timings.decoderSteps, 0)
    }
}
