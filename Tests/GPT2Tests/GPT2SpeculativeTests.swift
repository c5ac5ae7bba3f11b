import AllocationCounter
import Foundation
import Generation
import Kernels
import Tensor
import Tokenizer
import XCTest

@testable import GPT2

/// Speculative decoding on the tiny fixtures: whatever the draft, greedy ids are exactly
/// transformers' greedy ids for the target alone.
final class GPT2SpeculativeTests: XCTestCase {
    let tokenizer = NumberTokenizer(vocabularySize: 513)

    func greedy(maxNewTokens: Int) -> GenerationParameters {
        var p = GenerationParameters()
        p.maxNewTokens = maxNewTokens
        return p
    }

    /// Every kind of draft the CLI offers: the target at int8 and f16, another model with the
    /// same vocabulary (the "variant" fixture: smaller, different weights), n-gram lookup.
    func drafts() throws -> [(String, SpeculativeDraft)] {
        [
            ("int8", ModelDraft(model: try GPT2Model(directory: Fixtures.model("tiny"), precision: .int8))),
            ("f16", ModelDraft(model: try GPT2Model(directory: Fixtures.model("tiny"), precision: .f16))),
            ("variant", ModelDraft(model: try GPT2Model(directory: Fixtures.model("variant")))),
            ("ngram", NGramDraft()),
            (
                "ngram+int8",
                FallbackDraft(
                    first: NGramDraft(),
                    second: ModelDraft(model: try GPT2Model(directory: Fixtures.model("tiny"), precision: .int8)))
            ),
        ]
    }

    func testGreedyIdsMatchTransformersForEveryDraft() throws {
        let target = try GPT2Model(directory: Fixtures.model("tiny"))
        let ref = try Fixtures.reference("tiny")
        var proposedByDraft: [String: Int] = [:]
        for (name, draft) in try drafts() {
            for k in [1, 3, 7] {
                let decoder = try SpeculativeDecoder(target: target, draft: draft, tokenizer: tokenizer, draftTokens: k)
                for prompt in ref.prompts {
                    let result = try decoder.generate(
                        promptIDs: prompt.ids, parameters: greedy(maxNewTokens: ref.greedy_max_new_tokens))
                    XCTAssertEqual(
                        result.generation.generatedIDs, prompt.greedy,
                        "draft \(name), k \(k): "
                            + "\(prompt.text)")
                    XCTAssertEqual(result.generation.finishReason, .length)
                    proposedByDraft[name, default: 0] += result.statistics.proposedTokens
                    XCTAssertLessThanOrEqual(result.statistics.acceptedTokens, result.statistics.proposedTokens)
                }
            }
        }
        // Each draft really proposed tokens, so the verify path (and its rejections) ran.
        for (name, proposed) in proposedByDraft { XCTAssertGreaterThan(proposed, 0, name) }
    }

    func testTheSelfDraftIsAcceptedAndTheOtherModelIsOftenRejected() throws {
        let target = try GPT2Model(directory: Fixtures.model("tiny"))
        let prompt = try Fixtures.reference("tiny").prompts[0]
        let selfDraft = try SpeculativeDecoder(
            target: target, draft: ModelDraft(model: try GPT2Model(directory: Fixtures.model("tiny"))),
            tokenizer: tokenizer, draftTokens: 4)
        let same = try selfDraft.generate(promptIDs: prompt.ids, parameters: greedy(maxNewTokens: 24)).statistics
        XCTAssertEqual(same.acceptanceRate, 1, "the target drafting for itself agrees everywhere")
        XCTAssertLessThan(same.rounds, 23, "accepted drafts save target passes")
        let other = try SpeculativeDecoder(
            target: target, draft: ModelDraft(model: try GPT2Model(directory: Fixtures.model("variant"))),
            tokenizer: tokenizer, draftTokens: 4)
        let different = try other.generate(promptIDs: prompt.ids, parameters: greedy(maxNewTokens: 24)).statistics
        XCTAssertLessThan(different.acceptanceRate, 1)
    }

    func testPenaltiesEOSAndStopStringsAsInThePlainLoop() throws {
        let target = try GPT2Model(directory: Fixtures.model("tiny"))
        let ref = try Fixtures.reference("tiny")
        var penalized = greedy(maxNewTokens: ref.greedy_max_new_tokens)
        penalized.repetitionPenalty = 1.3
        penalized.noRepeatNgramSize = 2
        var untilEOS = greedy(maxNewTokens: ref.greedy_max_new_tokens)
        untilEOS.eosTokenIDs = [31]
        let plain = TextGenerator(model: target, tokenizer: tokenizer)
        for (name, draft) in try drafts() {
            let decoder = try SpeculativeDecoder(target: target, draft: draft, tokenizer: tokenizer, draftTokens: 4)
            for prompt in ref.prompts {
                let a = try decoder.generate(promptIDs: prompt.ids, parameters: penalized).generation
                XCTAssertEqual(a.generatedIDs, prompt.greedy_penalized, "\(name): \(prompt.text)")
                let b = try decoder.generate(promptIDs: prompt.ids, parameters: untilEOS).generation
                XCTAssertEqual(b.generatedIDs, prompt.greedy_until_eos, "\(name): \(prompt.text)")
                XCTAssertEqual(b.finishReason, b.generatedIDs.last == 31 ? .eos : .length)
                // A stop string made of the 6th and 7th tokens of the greedy text cuts there.
                var stopping = greedy(maxNewTokens: ref.greedy_max_new_tokens)
                stopping.stopStrings = ["<\(prompt.greedy[5])><\(prompt.greedy[6])>"]
                let expected = try plain.generate(promptIDs: prompt.ids, parameters: stopping)
                let c = try decoder.generate(promptIDs: prompt.ids, parameters: stopping).generation
                XCTAssertEqual(c.generatedIDs, expected.generatedIDs, "\(name): \(prompt.text)")
                XCTAssertEqual(c.text, expected.text)
                XCTAssertEqual(c.finishReason, expected.finishReason)
            }
        }
    }

    func testStreamedStepsAreTheGeneratedIdsAndCancelStops() throws {
        let target = try GPT2Model(directory: Fixtures.model("tiny"))
        let prompt = try Fixtures.reference("tiny").prompts[1]
        let decoder = try SpeculativeDecoder(target: target, draft: NGramDraft(), tokenizer: tokenizer)
        var streamed: [Int] = []
        let full = try decoder.generate(promptIDs: prompt.ids, parameters: greedy(maxNewTokens: 20)) {
            streamed.append($0.token)
            return true
        }
        XCTAssertEqual(streamed, full.generation.generatedIDs)
        var seen = 0
        let cut = try decoder.generate(promptIDs: prompt.ids, parameters: greedy(maxNewTokens: 20)) { _ in
            seen += 1
            return seen < 5
        }
        XCTAssertEqual(cut.generation.finishReason, .cancelled)
        XCTAssertEqual(cut.generation.generatedIDs, Array(full.generation.generatedIDs.prefix(5)))
    }

    /// How a batching executor would use it: one sequence's verify step and another sequence's
    /// plain decode step share each forward pass, and both come out as the target alone.
    func testARoundSharesAForwardPassWithOtherSequences() throws {
        let target = try GPT2Model(directory: Fixtures.model("tiny"))
        let ref = try Fixtures.reference("tiny")
        let (first, second) = (ref.prompts[0], ref.prompts[3])
        let n = ref.greedy_max_new_tokens
        let v = target.vocabularySize
        let decoder = try SpeculativeDecoder(
            target: target,
            draft: ModelDraft(model: try GPT2Model(directory: Fixtures.model("tiny"), precision: .int8)),
            tokenizer: tokenizer, draftTokens: 3)
        let speculating = try GenerationSequence(
            promptIDs: first.ids, parameters: greedy(maxNewTokens: n), tokenizer: tokenizer,
            vocabularySize: v, maxPositions: target.maxPositions)
        let plain = try GenerationSequence(
            promptIDs: second.ids, parameters: greedy(maxNewTokens: n), tokenizer: tokenizer,
            vocabularySize: v, maxPositions: target.maxPositions)
        let cacheA = target.makeCache(capacity: first.ids.count + n)
        let cacheB = target.makeCache(capacity: second.ids.count + n)
        let logits = UnsafeMutablePointer<Float>.allocate(capacity: (decoder.maxDraftTokens + 2) * v)
        defer { logits.deallocate() }
        try target.forward(
            [
                SequenceStep(cache: cacheA, tokens: first.ids[...]),
                SequenceStep(cache: cacheB, tokens: second.ids[...]),
            ],
            logits: logits)
        _ = speculating.advance(logits: logits)
        _ = plain.advance(logits: logits + v)
        try decoder.begin(capacity: cacheA.capacity)
        var passes = 0
        while !speculating.isFinished || !plain.isFinished {
            var steps: [SequenceStep] = []
            if !speculating.isFinished { steps.append(try decoder.verifyStep(speculating, cache: cacheA)) }
            if !plain.isFinished { steps.append(SequenceStep(cache: cacheB, tokens: [plain.lastToken][...])) }
            let speculatingRows = speculating.isFinished ? 0 : steps[0].logitsRows
            try target.forward(steps, logits: logits)
            passes += 1
            if !speculating.isFinished {
                XCTAssertTrue(decoder.finishRound(speculating, cache: cacheA, logits: logits, onStep: nil))
            }
            if !plain.isFinished { _ = plain.advance(logits: logits + speculatingRows * v) }
        }
        XCTAssertEqual(speculating.generatedIDs, first.greedy)
        XCTAssertEqual(plain.generatedIDs, second.greedy)
        XCTAssertGreaterThan(decoder.statistics.acceptedTokens, 0)
        XCTAssertEqual(passes, n - 1, "the plain sequence needs one pass per token; the other finished within them")
    }

    /// The verify pass's rows are the logits a one-token-at-a-time decode gives, to float tolerance.
    func testLogitsForEveryTokenMatchStepByStepLogits() throws {
        let model = try GPT2Model(directory: Fixtures.model("tiny"))
        let v = model.vocabularySize
        let tokens = [3, 17, 250, 9, 44, 101]
        let all = UnsafeMutablePointer<Float>.allocate(capacity: tokens.count * v)
        let one = UnsafeMutablePointer<Float>.allocate(capacity: v)
        defer {
            all.deallocate()
            one.deallocate()
        }
        let batched = model.makeCache(capacity: 16)
        let stepped = model.makeCache(capacity: 16)
        try model.forward([SequenceStep(cache: batched, tokens: tokens[..<2])], logits: one)
        try model.forward([SequenceStep(cache: batched, tokens: tokens[2...], logitsForEveryToken: true)], logits: all)
        try model.forward([SequenceStep(cache: stepped, tokens: tokens[..<2])], logits: one)
        for i in 2..<tokens.count {
            try model.forward([SequenceStep(cache: stepped, tokens: tokens[i...i])], logits: one)
            let row = UnsafeBufferPointer(start: all + (i - 2) * v, count: v)
            XCTAssertLessThan(maxAbsDifference(row, UnsafeBufferPointer(start: one, count: v)), 1e-4, "row \(i)")
        }
        XCTAssertEqual(batched.length, tokens.count)
    }

    /// A speculative round (draft proposals, verify pass, settling) allocates nothing once warm.
    func testSpeculativeRoundsAllocateNothing() throws {
        ComputePool.configure(threads: 1)
        defer { ComputePool.configure(threads: ProcessInfo.processInfo.activeProcessorCount) }
        let target = try GPT2Model(directory: Fixtures.model("tiny"))
        let draft = ModelDraft(model: try GPT2Model(directory: Fixtures.model("tiny"), precision: .int8))
        // Text-free tokens: the test tokenizer builds each token's bytes as a new array.
        let decoder = try SpeculativeDecoder(target: target, draft: draft, tokenizer: SilentTokenizer(), draftTokens: 3)
        let prompt = try Fixtures.reference("tiny").prompts[0].ids
        var sampled = greedy(maxNewTokens: 40)
        sampled.doSample = true
        sampled.topK = 50
        sampled.seed = 3
        var counted = 0
        for parameters in [greedy(maxNewTokens: 40), sampled] {
            // The first run sizes the buffers (each verify width the adaptive length reaches);
            // the second, the same rounds again, is counted from its first decode round on.
            _ = try decoder.generate(promptIDs: prompt, parameters: parameters)
            var counting = false
            _ = try decoder.generate(promptIDs: prompt, parameters: parameters) { step in
                if counting { counted += allocation_counter_stop() }
                // After the last token the result is built, which may allocate.
                counting = step.finishReason == nil
                if counting { allocation_counter_start() }
                return true
            }
            XCTAssertFalse(counting)
        }
        XCTAssertEqual(counted, 0, "allocations in warm speculative rounds")
    }

    /// How the server's executor uses the decoders: the draft model's steps of two sequences
    /// (one greedy, one sampled) share each of its forward passes, their verify steps share the
    /// target's, and each sequence comes out as its decoder gives it alone; warm rounds
    /// allocate nothing.
    func testDecodersGuessingTogetherMatchEachAloneAndAllocateNothing() throws {
        ComputePool.configure(threads: 1)
        defer { ComputePool.configure(threads: ProcessInfo.processInfo.activeProcessorCount) }
        let target = try GPT2Model(directory: Fixtures.model("tiny"))
        let draftModel = try GPT2Model(directory: Fixtures.model("tiny"), precision: .int8)
        let reference = try Fixtures.reference("tiny")
        let prompts = [reference.prompts[0].ids, reference.prompts[2].ids]
        var sampled = greedy(maxNewTokens: 30)
        sampled.doSample = true
        sampled.topK = 50
        sampled.seed = 11
        let parameters = [greedy(maxNewTokens: 30), sampled]
        let decoders = try parameters.map { _ in
            try SpeculativeDecoder(
                target: target, draft: ModelDraft(model: draftModel), tokenizer: SilentTokenizer(), draftTokens: 3)
        }
        let alone = try (0..<2).map {
            try decoders[$0].generate(promptIDs: prompts[$0], parameters: parameters[$0]).generation.generatedIDs
        }
        let v = target.vocabularySize
        let logits = UnsafeMutablePointer<Float>.allocate(capacity: 2 * (decoders[0].maxDraftTokens + 1) * v)
        defer { logits.deallocate() }
        var steps: [SequenceStep] = []
        var owners: [Int] = []
        steps.reserveCapacity(2)
        owners.reserveCapacity(2)
        var counted = 0
        // The first run sizes the buffers; the second is counted from its second round on.
        for run in 0..<2 {
            let sequences = try (0..<2).map {
                try GenerationSequence(
                    promptIDs: prompts[$0], parameters: parameters[$0], tokenizer: SilentTokenizer(),
                    vocabularySize: v, maxPositions: target.maxPositions)
            }
            let caches = prompts.map { target.makeCache(capacity: $0.count + 30) }
            try target.forward(
                (0..<2).map { SequenceStep(cache: caches[$0], tokens: prompts[$0][...]) }, logits: logits)
            for i in 0..<2 {
                _ = sequences[i].advance(logits: logits + i * v)
                try decoders[i].begin(capacity: caches[i].capacity)
            }
            var round = 0
            while sequences.contains(where: { !$0.isFinished }) {
                let counting = run == 1 && round > 0
                if counting { allocation_counter_start() }
                for i in 0..<2 where !sequences[i].isFinished { try decoders[i].beginRound(sequences[i]) }
                while true {
                    for i in 0..<2 where !sequences[i].isFinished {
                        guard let step = decoders[i].draftStep(sequences[i]) else { continue }
                        steps.append(step)
                        owners.append(i)
                    }
                    if steps.isEmpty { break }
                    try draftModel.forward(steps, logits: logits)
                    steps.removeAll(keepingCapacity: true)
                    for row in owners.indices {
                        decoders[owners[row]].takeDraftGuess(sequences[owners[row]], logits: logits + row * v)
                    }
                    owners.removeAll(keepingCapacity: true)
                }
                for i in 0..<2 where !sequences[i].isFinished {
                    steps.append(decoders[i].verifyStepOfGuesses(sequences[i], cache: caches[i]))
                    owners.append(i)
                }
                try target.forward(steps, logits: logits)
                var row = 0
                for index in owners.indices {
                    let i = owners[index]
                    _ = decoders[i].finishRound(sequences[i], cache: caches[i], logits: logits + row * v, onStep: nil)
                    row += steps[index].logitsRows
                }
                steps.removeAll(keepingCapacity: true)
                owners.removeAll(keepingCapacity: true)
                if counting { counted += allocation_counter_stop() }
                round += 1
            }
            XCTAssertEqual(sequences[0].generatedIDs, alone[0], "greedy, run \(run)")
            XCTAssertEqual(sequences[1].generatedIDs, alone[1], "sampled, run \(run)")
        }
        XCTAssertEqual(counted, 0, "allocations in warm rounds guessing together")
    }
}

/// Tokens without text, so that counting allocations sees only the decoding.
struct SilentTokenizer: Tokenizer {
    var vocabularySize: Int { 513 }
    var specialTokenIDs: Set<Int> { [] }
    func encode(_ text: String) -> [Int] { [] }
    func decode(_ ids: [Int], skipSpecialTokens: Bool) -> String { "" }
    func bytes(forToken id: Int, isFirst: Bool) -> [UInt8]? { nil }
}
