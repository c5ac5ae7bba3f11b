import Foundation
import GPT2
import Generation
import NLLB
import Tensor

/// What quantizing costs: the same positions, teacher-forced, through the model at fp32
/// and at the benchmarked precision; how often the most likely token agrees, and the
/// mean absolute difference of the logits.
struct QuantizationQuality: Encodable {
    let positions: Int
    let top1_agreement: Double
    let mean_abs_logit_error: Double

    private struct Accumulator {
        var agree = 0, positions = 0, error = 0.0, values = 0
        mutating func add(_ reference: UnsafePointer<Float>, _ quantized: UnsafePointer<Float>, count: Int) {
            if LogitsProcessors.argmax(reference, count: count) == LogitsProcessors.argmax(quantized, count: count) {
                agree += 1
            }
            positions += 1
            for i in 0..<count { error += Double(abs(reference[i] - quantized[i])) }
            values += count
        }
        var result: QuantizationQuality {
            QuantizationQuality(
                positions: positions, top1_agreement: positions > 0 ? Double(agree) / Double(positions) : 1,
                mean_abs_logit_error: values > 0 ? error / Double(values) : 0)
        }
    }

    /// Decoder-only: every position of `tokens`, one forward pass each.
    static func measure(_ reference: GPT2Model, _ quantized: GPT2Model, tokens: [Int]) throws -> QuantizationQuality {
        let vocabulary = reference.vocabularySize
        let a = UnsafeMutablePointer<Float>.allocate(capacity: vocabulary)
        let b = UnsafeMutablePointer<Float>.allocate(capacity: vocabulary)
        defer {
            a.deallocate()
            b.deallocate()
        }
        let cacheA = reference.makeCache(capacity: tokens.count)
        let cacheB = quantized.makeCache(capacity: tokens.count)
        var accumulator = Accumulator()
        for token in tokens {
            try reference.forward([SequenceStep(cache: cacheA, tokens: [token][...])], logits: a)
            try quantized.forward([SequenceStep(cache: cacheB, tokens: [token][...])], logits: b)
            accumulator.add(a, b, count: vocabulary)
        }
        return accumulator.result
    }

    /// Encoder-decoder: one source, the decoder teacher-forced through `targets`.
    static func measure(_ reference: M2M100Model, _ quantized: M2M100Model, source: [Int], targets: [Int]) throws
        -> QuantizationQuality
    {
        let vocabulary = reference.vocabularySize
        let a = UnsafeMutablePointer<Float>.allocate(capacity: vocabulary)
        let b = UnsafeMutablePointer<Float>.allocate(capacity: vocabulary)
        defer {
            a.deallocate()
            b.deallocate()
        }
        let sourceA = try reference.encode([source])[0]
        let sourceB = try quantized.encode([source])[0]
        let cacheA = reference.makeTargetCache(capacity: targets.count)
        let cacheB = quantized.makeTargetCache(capacity: targets.count)
        var accumulator = Accumulator()
        for token in targets {
            try reference.decode([Seq2SeqStep(target: cacheA, source: sourceA, token: token)], logits: a)
            try quantized.decode([Seq2SeqStep(target: cacheB, source: sourceB, token: token)], logits: b)
            accumulator.add(a, b, count: vocabulary)
        }
        return accumulator.result
    }
}
