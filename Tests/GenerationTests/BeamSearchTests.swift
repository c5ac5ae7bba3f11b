import Foundation
import XCTest

@testable import Generation

/// `BeamSearchState` on hand-computed cases: a toy "model" gives next-token
/// probabilities per prefix (vocabulary: 0 = decoder start, 1 = EOS, 2, 3), and
/// the expected hypotheses and scores are worked out by hand below.
final class BeamSearchTests: XCTestCase {
    typealias Model = ([Int]) -> [Double]

    /// [0]: EOS .4, 2 .35, 3 .25; after 2 or 3: EOS .9, 2 .06, 3 .04.
    let shortOrLong: Model = { prefix in
        prefix.count == 1 ? [0, 0.4, 0.35, 0.25] : [0, 0.9, 0.06, 0.04]
    }

    func search(
        _ model: Model, beams: Int = 2, maxLength: Int, lengthPenalty: Float = 1,
        earlyStopping: BeamEarlyStopping = .heuristic, forced: Int? = nil, maxSteps: Int = 100
    ) -> (state: BeamSearchState, steps: Int) {
        let state = BeamSearchState(
            numBeams: beams, vocabularySize: 4, maxLength: maxLength, decoderStartTokenID: 0,
            lengthPenalty: lengthPenalty, earlyStopping: earlyStopping, eosTokenIDs: [1],
            forcedBOSTokenID: forced, repetitionPenalty: 1, noRepeatNgramSize: 0)
        var logits = [Float](repeating: 0, count: beams * 4)
        var steps = 0
        while !state.isDone && steps < maxSteps {
            for b in 0..<beams {
                let p = model(Array(state.runningTokens(beam: b)))
                for t in 0..<4 { logits[b * 4 + t] = Float(log(p[t])) }
            }
            logits.withUnsafeMutableBufferPointer { state.advance(logits: $0.baseAddress!) }
            steps += 1
        }
        return (state, steps)
    }

    /// Step 1 finishes [0, 1] at log .4 = -0.916 (1 token). Step 2 finishes [0, 2, 1]
    /// at log(.35·.9) = -1.155 over 2 tokens. Length penalty 1 ranks it -0.578 and
    /// keeps it; 0 ranks it -1.155 and keeps the short one.
    func testLengthPenaltyChoosesBetweenShortAndLong() {
        let long = search(shortOrLong, maxLength: 10, lengthPenalty: 1).state.best()
        XCTAssertEqual(long.ids, [0, 2, 1])
        XCTAssertEqual(long.finishReason, .eos)
        XCTAssertEqual(Double(long.score!), log(0.35 * 0.9) / 2, accuracy: 1e-5)

        let short = search(shortOrLong, maxLength: 10, lengthPenalty: 0).state.best()
        XCTAssertEqual(short.ids, [0, 1])
        XCTAssertEqual(Double(short.score!), log(0.4), accuracy: 1e-5)
    }

    /// After step 2 both slots are finished ([0, 2, 1] -0.578, [0, 3, 1] -0.746) and
    /// the best running beam, [0, 2, 2] at log(.35·.06) = -3.863, scores -1.93 at its
    /// current length: the heuristic stops. "never" scores it at max_length - 1 = 11
    /// tokens (-0.351), which could still win, so it keeps searching.
    func testEarlyStoppingNeverScoresRunningBeamsAtMaxLength() {
        let heuristic = search(shortOrLong, maxLength: 12, earlyStopping: .heuristic)
        XCTAssertEqual(heuristic.steps, 2)
        XCTAssertEqual(heuristic.state.best().ids, [0, 2, 1])
        XCTAssertEqual(Double(heuristic.state.finishedScores[0]), log(0.35 * 0.9) / 2, accuracy: 1e-5)
        XCTAssertEqual(Double(heuristic.state.finishedScores[1]), log(0.25 * 0.9) / 2, accuracy: 1e-5)

        let never = search(shortOrLong, maxLength: 12, earlyStopping: .never, maxSteps: 2)
        XCTAssertFalse(never.state.isDone)
        XCTAssertTrue(never.state.improvementPossible)
        XCTAssertEqual(never.state.runningScores[0], Float(log(0.35) + log(0.06)), accuracy: 1e-5)
    }

    /// [0]: EOS .5, 2 .3, 3 .2 → [0, 1] finishes at -0.693.
    /// [0, 2]: 2 .8, EOS .2; [0, 3]: EOS .6, 2 .4 → step 2's top candidates are
    /// [0, 2, 2] -1.427, [0, 3, 1] -2.120 (finishes, -1.060 per token), [0, 3, 2] -2.526, [0, 2, 1] -2.813.
    /// Both slots are now full: early_stopping true stops with [0, 1]. The heuristic
    /// sees [0, 2, 2] at -1.427/2 = -0.714 > -1.060 and goes on; [0, 2, 2, 1] then
    /// finishes at (-1.427 + log .99)/3 = -0.479 and wins.
    func testEarlyStoppingTrueStopsWhenTheBeamsAreFull() {
        let model: Model = { prefix in
            switch prefix {
            case [0]: return [0, 0.5, 0.3, 0.2]
            case [0, 2]: return [0, 0.2, 0.8, 0]
            case [0, 3]: return [0, 0.6, 0.4, 0]
            case [0, 2, 2]: return [0, 0.99, 0.005, 0.005]
            default: return [0, 0.6, 0.4, 0]
            }
        }
        let eager = search(model, maxLength: 5, earlyStopping: .whenBeamsFull)
        XCTAssertEqual(eager.steps, 2)
        XCTAssertEqual(eager.state.best().ids, [0, 1])
        XCTAssertEqual(Double(eager.state.best().score!), log(0.5), accuracy: 1e-5)

        let patient = search(model, maxLength: 5, earlyStopping: .heuristic)
        XCTAssertEqual(patient.steps, 3)
        XCTAssertEqual(patient.state.best().ids, [0, 2, 2, 1])
        XCTAssertEqual(Double(patient.state.best().score!), (log(0.3) + log(0.8) + log(0.99)) / 3, accuracy: 1e-5)
    }

    /// max_length counts the decoder start: with 3, two tokens are generated and
    /// everything stops, EOS or not (MaxLengthCriteria).
    func testMaxLengthEndsTheSearch() {
        let never: Model = { _ in [0, 0, 0.6, 0.4] }  // EOS impossible
        let (state, steps) = search(never, maxLength: 3)
        XCTAssertEqual(steps, 2)
        XCTAssertTrue(state.isDone)
        let best = state.best()
        XCTAssertEqual(best.ids, [0, 2, 2])
        XCTAssertEqual(best.finishReason, .length)
        XCTAssertEqual(Double(best.score!), log(0.36) / 2, accuracy: 1e-5)
    }

    /// ForcedBOSTokenLogitsProcessor: whatever the model says, the first token is
    /// forced with log-prob 0 (it does not count against the score).
    func testForcedFirstToken() {
        let model: Model = { prefix in prefix.count == 1 ? [0, 0.9, 0.05, 0.05] : [0, 0.7, 0.2, 0.1] }
        let (state, _) = search(model, beams: 3, maxLength: 6, forced: 3)
        let best = state.best()
        XCTAssertEqual(Array(best.ids.prefix(2)), [0, 3])
        XCTAssertEqual(best.ids, [0, 3, 1])
        XCTAssertEqual(Double(best.score!), log(0.7) / 2, accuracy: 1e-5)
    }

    /// A parent's cache moves to its first child; a second child gets a copy in a
    /// cache no beam continues, and nothing is copied onto a cache still needed.
    func testCacheReorderCopiesOnlyForSecondChildren() {
        let caches = (0..<4).map { b -> KVCache in
            let cache = KVCache(layers: 1, heads: 1, headDim: 1, capacity: 4)
            var value = Float(b)
            cache.store(layer: 0, position: 0, key: &value, value: &value)
            cache.advance(by: 1)
            return cache
        }
        var reordered = caches
        var reorder = BeamCacheReorder(beams: 4)
        reorder.apply(&reordered, parents: [2, 2, 0, 1])
        XCTAssertTrue(reordered[0] === caches[2])
        XCTAssertTrue(reordered[2] === caches[0])
        XCTAssertTrue(reordered[3] === caches[1])
        XCTAssertTrue(reordered[1] === caches[3], "the only cache nobody continues takes the copy")
        // Attention over a single position returns that position's value.
        func storedValue(_ cache: KVCache) -> Float {
            var out: Float = .nan
            var query: Float = 1
            var score: Float = 0
            cache.attend(layer: 0, out: &out, query: &query, length: 1, heads: 0..<1, scale: 1, scores: &score)
            return out
        }
        XCTAssertEqual(reordered.map(storedValue), [2, 2, 0, 1])
    }
}

/// Beam parameters from generation_config.json and the max_length rules.
final class Seq2SeqParametersTests: XCTestCase {
    func parse(_ json: String) throws -> GenerationConfigFile {
        try GenerationConfigFile.parse(json.data(using: .utf8)!, path: "generation_config.json")
    }

    func testEarlyStoppingTakesTransformersThreeValues() throws {
        XCTAssertEqual(try parse(#"{"early_stopping": true}"#).earlyStopping, .whenBeamsFull)
        XCTAssertEqual(try parse(#"{"early_stopping": false}"#).earlyStopping, .heuristic)
        XCTAssertEqual(try parse(#"{"early_stopping": "never"}"#).earlyStopping, .never)
        XCTAssertNil(try parse(#"{}"#).earlyStopping)
        XCTAssertThrowsError(try parse(#"{"early_stopping": "sometimes"}"#))
    }

    func testFromTheNLLBGenerationConfig() throws {
        let file = try parse(
            #"{"bos_token_id": 0, "decoder_start_token_id": 2, "eos_token_id": 2, "max_length": 200, "pad_token_id": 1}"#
        )
        let p = Seq2SeqParameters(file: file, decoderStartTokenID: 9, eosTokenIDs: [9])
        XCTAssertEqual(p.decoderStartTokenID, 2)
        XCTAssertEqual(p.generation.eosTokenIDs, [2])
        XCTAssertEqual(p.numBeams, 1)
        XCTAssertEqual(p.lengthPenalty, 1)
        XCTAssertEqual(p.earlyStopping, .heuristic)
        XCTAssertEqual(try p.resolvedMaxLength(maxTargetPositions: 1024), 200)
        XCTAssertThrowsError(try p.resolvedMaxLength(maxTargetPositions: 100))
    }

    func testMaxLengthCountsTheDecoderStart() throws {
        var p = Seq2SeqParameters(decoderStartTokenID: 2, eosTokenIDs: [2])
        XCTAssertEqual(try p.resolvedMaxLength(maxTargetPositions: 1024), 21, "transformers' default: 20 new tokens")
        XCTAssertEqual(try p.resolvedMaxLength(maxTargetPositions: 10), 11)
        p.generation.maxLength = 50
        XCTAssertEqual(try p.resolvedMaxLength(maxTargetPositions: 1024), 50)
        p.generation.maxNewTokens = 7
        XCTAssertEqual(try p.resolvedMaxLength(maxTargetPositions: 1024), 8, "max_new_tokens wins")
        p.generation.maxNewTokens = 0
        XCTAssertThrowsError(try p.resolvedMaxLength(maxTargetPositions: 1024))
    }
}
