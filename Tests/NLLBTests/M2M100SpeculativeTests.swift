import Foundation
import Generation
import XCTest

@testable import NLLB

/// Speculative greedy translation gives transformers' greedy ids exactly, for every draft.
final class M2M100SpeculativeTests: XCTestCase {
    func drafts(_ name: String) throws -> [(String, SpeculativeDraft)] {
        let int8 = { Seq2SeqModelDraft(model: try M2M100Model(directory: NLLBFixtures.model(name), precision: .int8)) }
        return [
            ("int8", try int8()),
            ("ngram (source and target)", NGramDraft()),
            ("ngram+int8", FallbackDraft(first: NGramDraft(), second: try int8())),
        ]
    }

    func testGreedyIdsMatchTransformersForEveryDraft() throws {
        for name in NLLBFixtures.names {
            let translator = try M2M100Translator(directory: NLLBFixtures.model(name))
            let ref = try NLLBFixtures.reference(name)
            let greedyCases = ref.cases.filter { $0.parameters.num_beams == 1 }
            XCTAssertFalse(greedyCases.isEmpty)
            for (draftName, draft) in try drafts(name) {
                var proposed = 0
                for k in [1, 4] {
                    let decoder = try Seq2SeqSpeculativeDecoder(model: translator.model, draft: draft, draftTokens: k)
                    for c in greedyCases {
                        for (i, source) in ref.sources.enumerated() {
                            let parameters = NLLBFixtures.parameters(
                                c.parameters, translator: translator, targetLanguage: ref.target_languages[i])
                            let result = try decoder.translate(source: source, parameters: parameters)
                            XCTAssertEqual(
                                result.output.ids, c.outputs[i],
                                "\(name) \(c.name) source \(i), draft "
                                    + "\(draftName), k \(k)")
                            let expectedReason: FinishReason =
                                c.outputs[i].last == 2 && c.outputs[i].count > 2 ? .eos : .length
                            XCTAssertEqual(result.output.finishReason, expectedReason)
                            proposed += result.statistics.proposedTokens
                        }
                    }
                }
                XCTAssertGreaterThan(
                    proposed, 0,
                    "\(name): draft \(draftName) proposed nothing, so nothing was "
                        + "verified")
            }
        }
    }

    func testTheNGramDraftCopiesFromTheSource() throws {
        let draft = NGramDraft()
        draft.reference = [256047, 81, 82, 83, 84, 2]
        let sampler = Sampler(vocabularySize: 300_000, parameters: GenerationParameters())
        let history = TokenHistory(prompt: [2, 256057, 9, 81, 82], vocabularySize: 300_000, reserve: 8)
        XCTAssertEqual(try draft.propose(count: 3, history: history, sampler: sampler, probabilities: nil), 3)
        XCTAssertEqual(Array(history.tokens.suffix(3)), [83, 84, 2])
    }

    func testSamplingAndBeamsAreRefused() throws {
        let translator = try M2M100Translator(directory: NLLBFixtures.model("tiny"))
        let decoder = try Seq2SeqSpeculativeDecoder(model: translator.model, draft: NGramDraft())
        var parameters = translator.defaultParameters(
            targetLanguageID: try NLLBFixtures.reference("tiny").target_languages[0])
        parameters.numBeams = 2
        XCTAssertThrowsError(
            try decoder.translate(source: try NLLBFixtures.reference("tiny").sources[0], parameters: parameters))
    }
}
