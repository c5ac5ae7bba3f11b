import Foundation
import Generation
import Tensor
import XCTest

@testable import GPT2

/// Logits against transformers' GPT2LMHeadModel on the tiny fixtures.
final class GPT2ParityTests: XCTestCase {
    let tolerance: Float = 1e-4

    /// Every position's logits, feeding the prompt one token at a time (the decode path).
    func checkIncremental(model: String, reference: String) throws {
        let gpt2 = try GPT2Model(directory: Fixtures.model(model))
        let ref = try Fixtures.reference(reference)
        var worst: Float = 0
        for (index, prompt) in ref.prompts.enumerated() {
            let expected = try Fixtures.logits(reference, prompt: index)
            XCTAssertEqual(expected.rows, prompt.ids.count)
            let cache = gpt2.makeCache(capacity: prompt.ids.count)
            var logits = [Float](repeating: 0, count: gpt2.vocabularySize)
            for (position, token) in prompt.ids.enumerated() {
                try logits.withUnsafeMutableBufferPointer {
                    try gpt2.forward([SequenceStep(cache: cache, tokens: [token][...])], logits: $0.baseAddress!)
                }
                let row = expected.values[(position * expected.cols)..<((position + 1) * expected.cols)]
                let diff = maxAbsDifference(logits, row)
                worst = max(worst, diff)
                XCTAssertLessThan(diff, tolerance, "\(model) prompt \(index) position \(position)")
            }
        }
        print("\(model): max |logit diff| vs transformers, token by token = \(worst)")
    }

    /// The last position's logits after one prefill call (the GEMM path).
    func checkPrefill(model: String, reference: String) throws {
        let gpt2 = try GPT2Model(directory: Fixtures.model(model))
        let ref = try Fixtures.reference(reference)
        var worst: Float = 0
        for (index, prompt) in ref.prompts.enumerated() {
            let expected = try Fixtures.logits(reference, prompt: index)
            let cache = gpt2.makeCache(capacity: prompt.ids.count)
            var logits = [Float](repeating: 0, count: gpt2.vocabularySize)
            try logits.withUnsafeMutableBufferPointer {
                try gpt2.forward([SequenceStep(cache: cache, tokens: prompt.ids[...])], logits: $0.baseAddress!)
            }
            let last = prompt.ids.count - 1
            let diff = maxAbsDifference(logits, expected.values[(last * expected.cols)..<((last + 1) * expected.cols)])
            worst = max(worst, diff)
            XCTAssertLessThan(diff, tolerance, "\(model) prompt \(index)")
        }
        print("\(model): max |logit diff| vs transformers, prefill = \(worst)")
    }

    func testTinyF32() throws {
        try checkIncremental(model: "tiny", reference: "tiny")
        try checkPrefill(model: "tiny", reference: "tiny")
    }

    func testTinyF16WidenedAtLoad() throws {
        try checkIncremental(model: "tiny-f16", reference: "tiny-f16")
        try checkPrefill(model: "tiny-f16", reference: "tiny-f16")
    }

    func testTinyBF16WidenedAtLoad() throws {
        try checkIncremental(model: "tiny-bf16", reference: "tiny-bf16")
        try checkPrefill(model: "tiny-bf16", reference: "tiny-bf16")
    }

    func testOpenAIKeyLayoutGivesTheSameLogits() throws {
        try checkPrefill(model: "tiny-openai-layout", reference: "tiny")
    }

    func testVariantConfigShardedUntiedErfGelu() throws {
        try checkIncremental(model: "variant", reference: "variant")
        try checkPrefill(model: "variant", reference: "variant")
    }

    /// Several sequences in one forward pass give what each gives alone.
    func testBatchedForwardMatchesSingle() throws {
        let gpt2 = try GPT2Model(directory: Fixtures.model("tiny"))
        let ref = try Fixtures.reference("tiny")
        let prompts = ref.prompts.map(\.ids)
        let caches = prompts.map { gpt2.makeCache(capacity: $0.count + 1) }
        var logits = [Float](repeating: 0, count: prompts.count * gpt2.vocabularySize)
        try logits.withUnsafeMutableBufferPointer { out in
            try gpt2.forward(
                zip(caches, prompts).map { SequenceStep(cache: $0, tokens: $1[...]) }, logits: out.baseAddress!)
        }
        for (index, prompt) in prompts.enumerated() {
            let expected = try Fixtures.logits("tiny", prompt: index)
            let last = prompt.count - 1
            let mine = logits[(index * gpt2.vocabularySize)..<((index + 1) * gpt2.vocabularySize)]
            XCTAssertLessThan(
                maxAbsDifference(mine, expected.values[(last * expected.cols)..<((last + 1) * expected.cols)]),
                tolerance)
        }
    }
}
