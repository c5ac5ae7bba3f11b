import Foundation
import Generation
import XCTest

@testable import NLLB

/// Encoder outputs and decoder logits against transformers' M2M100ForConditionalGeneration
/// (eager attention) on the tiny fixtures.
final class M2M100ParityTests: XCTestCase {
    let tolerance: Float = 1e-4

    func testEncoderOutputMatchesTransformers() throws {
        for name in NLLBFixtures.names {
            let model = try M2M100Model(directory: NLLBFixtures.model(name))
            let ref = try NLLBFixtures.reference(name)
            // All sources packed in one pass, and each alone: both must match.
            let together = try model.encoderHiddenStates(ref.sources)
            var worst: Float = 0
            for (i, source) in ref.sources.enumerated() {
                let expected = try NLLBFixtures.tensor(name, "encoder.\(i)")
                XCTAssertEqual(expected.shape, [source.count, model.config.dModel])
                let alone = try model.encoderHiddenStates([source])[0]
                for got in [together[i], alone] {
                    let diff = maxAbsDifference(got, expected.values)
                    worst = max(worst, diff)
                    XCTAssertLessThan(diff, tolerance, "\(name) source \(i)")
                }
            }
            print("\(name): max |encoder output diff| vs transformers = \(worst)")
        }
    }

    /// The logits of the decoder start token for every source, in one batched step.
    func testFirstStepLogitsMatchTransformers() throws {
        for name in NLLBFixtures.names {
            let model = try M2M100Model(directory: NLLBFixtures.model(name))
            let ref = try NLLBFixtures.reference(name)
            let encoded = try model.encode(ref.sources)
            let steps = encoded.map {
                Seq2SeqStep(
                    target: model.makeTargetCache(capacity: 4), source: $0, token: model.config.decoderStartTokenID)
            }
            let v = model.vocabularySize
            var logits = [Float](repeating: 0, count: steps.count * v)
            try logits.withUnsafeMutableBufferPointer { try model.decode(steps, logits: $0.baseAddress!) }
            var worst: Float = 0
            for i in ref.sources.indices {
                let expected = try NLLBFixtures.tensor(name, "first_step_logits.\(i)")
                XCTAssertEqual(expected.shape, [v])
                let diff = maxAbsDifference(logits[(i * v)..<((i + 1) * v)], expected.values)
                worst = max(worst, diff)
                XCTAssertLessThan(diff, tolerance, "\(name) source \(i)")
            }
            XCTAssertTrue(steps.allSatisfy { $0.target.length == 1 })
            print("\(name): max |first-step logit diff| vs transformers = \(worst)")
        }
    }

    /// Every position of a decoder input fed one token at a time: the cache,
    /// the positions past the first and cross-attention reuse.
    func testTeacherForcedLogitsMatchTransformersTokenByToken() throws {
        let worst = try teacherForcedWorstDifference(cachePrecision: .f32, tolerance: tolerance)
        print("tiny: max |teacher-forced logit diff| vs transformers = \(worst)")
    }

    /// With f16 caches (the decoder's own and the cross-attention memory) the logits move by
    /// the rounding of keys and values: more than fp32's noise, far less than a wrong path.
    func testHalfCachesStayCloseToTransformers() throws {
        let worst = try teacherForcedWorstDifference(cachePrecision: .f16, tolerance: 1e-2, sameArgmax: true)
        print("tiny, f16 caches: max |teacher-forced logit diff| vs transformers = \(worst)")
        XCTAssertGreaterThan(worst, tolerance / 10, "f16 caches cannot give fp32's logits: the path was not taken")
    }

    func teacherForcedWorstDifference(cachePrecision: KVCachePrecision, tolerance: Float, sameArgmax: Bool = false)
        throws -> Float
    {
        let name = "tiny"
        let model = try M2M100Model(directory: NLLBFixtures.model(name), cachePrecision: cachePrecision)
        let ref = try NLLBFixtures.reference(name)
        XCTAssertFalse(ref.teacher_forced.isEmpty)
        var worst: Float = 0
        for (index, forced) in ref.teacher_forced.enumerated() {
            let expected = try NLLBFixtures.tensor(name, "teacher_forced_logits.\(index)")
            let v = model.vocabularySize
            XCTAssertEqual(expected.shape, [forced.decoder_input_ids.count, v])
            let source = try model.encode([ref.sources[forced.source]])[0]
            XCTAssertEqual(source.crossAttention.precision, cachePrecision)
            let cache = model.makeTargetCache(capacity: forced.decoder_input_ids.count)
            XCTAssertEqual(cache.precision, cachePrecision)
            var logits = [Float](repeating: 0, count: v)
            for (position, token) in forced.decoder_input_ids.enumerated() {
                try logits.withUnsafeMutableBufferPointer {
                    try model.decode(
                        [Seq2SeqStep(target: cache, source: source, token: token)], logits: $0.baseAddress!)
                }
                let row = Array(expected.values[(position * v)..<((position + 1) * v)])
                let diff = maxAbsDifference(logits, row[...])
                worst = max(worst, diff)
                XCTAssertLessThan(diff, tolerance, "position \(position)")
                if sameArgmax {
                    XCTAssertEqual(
                        LogitsProcessors.argmax(logits, count: v), LogitsProcessors.argmax(row, count: v),
                        "position \(position)")
                }
            }
        }
        return worst
    }

    func testLoadsTheConfigAndWeightLayout() throws {
        let tiny = try M2M100Model(directory: NLLBFixtures.model("tiny"))
        XCTAssertTrue(tiny.config.tieWordEmbeddings)
        XCTAssertTrue(
            tiny.lmHead.weights.isFloat32Borrowing(tiny.encoder.embedding.tokens.table),
            "a tied lm_head "
                + "reads the shared embedding")
        XCTAssertTrue(tiny.encoder.embedding.tokens.table.isMapped, "F32 weights are borrowed from the mapping")
        XCTAssertEqual(tiny.maxSourcePositions, 64)
        let untied = try M2M100Model(directory: NLLBFixtures.model("tiny-f16-untied"))
        XCTAssertFalse(untied.lmHead.weights.isFloat32Borrowing(untied.encoder.embedding.tokens.table))
        XCTAssertEqual(untied.encoder.layers.count, 3)
        XCTAssertEqual(untied.decoder.layers.count, 1)
        XCTAssertEqual(untied.config.embeddingScale, 1)
    }
}
