import Foundation
import GPT2
import Generation
import XCTest

@testable import InferenceServer
@testable import ServiceTestSupport

/// Speculative decoding inside continuous batching: with any draft, every greedy sequence's ids
/// and events are exactly those of the executor without one, and every sampled sequence's are
/// those of `SpeculativeDecoder` alone with the same seed and draft (whose rule keeps the
/// target's distribution: `SpeculativeSamplingTests`).
final class SpeculativeSchedulingTests: XCTestCase {
    static let variant = AppFixtures.root.appendingPathComponent("GPT2/variant")

    func request(_ ids: [Int], tokens: Int, seed: UInt64? = nil) -> GenerationRequest {
        var p = GenerationParameters()
        p.maxNewTokens = tokens
        if let seed {
            p.doSample = true
            p.temperature = 0.9
            p.topK = 20
            p.seed = seed
        } else {
            p.doSample = false
        }
        return GenerationRequest(promptIDs: ids, parameters: p, wantsLogprobs: true)
    }

    /// Greedy and sampled requests of several prompts and budgets, so slots join and leave
    /// mid-batch and speculating slots share forward passes with plain ones.
    func mixedRequests() throws -> [GenerationRequest] {
        let reference = try AppFixtures.reference()
        return (0..<12).map { index in
            let prompt = reference.prompts[index % reference.prompts.count]
            return request(prompt.ids, tokens: 6 + (index % 4) * 5, seed: index % 3 == 2 ? UInt64(100 + index) : nil)
        }
    }

    /// Every request submitted at once; each choice's token events and outcome.
    func runConcurrently(_ executor: GenerationExecutor, _ requests: [GenerationRequest]) throws
        -> [(tokens: [GenerationStep], outcome: GenerationOutcome)]
    {
        let channel = GenerationEventChannel()
        for (index, request) in requests.enumerated() { try executor.submit(request, to: channel, choice: index) }
        var tokens = [[GenerationStep]](repeating: [], count: requests.count)
        var outcomes = [GenerationOutcome?](repeating: nil, count: requests.count)
        var remaining = requests.count
        while remaining > 0 {
            guard let event = channel.next(timeout: 60) else { throw ExecutorError.timedOut(seconds: 60) }
            switch event {
            case .token(let choice, let step): tokens[choice].append(step)
            case .finished(let choice, let outcome):
                outcomes[choice] = outcome
                remaining -= 1
            case .failed(_, let error): throw error
            }
        }
        return zip(tokens, outcomes).map { ($0, $1!) }
    }

    func drafts() throws -> [GenerationDraft] {
        let int8 = try GPT2Model(directory: AppFixtures.tinyGPT2, precision: .int8)
        let variant = try GPT2Model(directory: Self.variant)
        return [
            GenerationDraft(label: "int8", draftTokens: 3) { ModelDraft(model: int8) },
            // Another model: most guesses are rejected, so rejection and cache cuts run.
            GenerationDraft(label: "variant", draftTokens: 4) { ModelDraft(model: variant) },
            GenerationDraft(label: "ngram", draftTokens: 4) { NGramDraft() },
            GenerationDraft(label: "ngram+int8", draftTokens: 2) {
                FallbackDraft(first: NGramDraft(), second: ModelDraft(model: int8))
            },
        ]
    }

    /// The sampled request run alone by `SpeculativeDecoder`, with a fresh draft of `draft`.
    func alone(_ request: GenerationRequest, draft: GenerationDraft) throws -> [GenerationStep] {
        let pipeline = try AppFixtures.freshPipeline()
        let decoder = try SpeculativeDecoder(
            target: try GPT2Model(directory: AppFixtures.tinyGPT2), draft: draft.makeDraft(),
            tokenizer: pipeline.tokenizer, draftTokens: draft.draftTokens)
        var steps: [GenerationStep] = []
        _ = try decoder.generate(promptIDs: request.promptIDs, parameters: request.parameters) { step in
            steps.append(step)
            return true
        }
        return steps
    }

    func testEveryDraftGivesThePlainExecutorsTokensEventsAndLogprobs() throws {
        let pipeline = try AppFixtures.freshPipeline()
        let reference = try AppFixtures.reference()
        let requests = try mixedRequests()
        let configuration = ExecutorConfiguration(maxBatch: 5, maxQueue: 16)
        let plainExecutor = GenerationExecutor(
            name: "tiny", model: SlowModel(pipeline.model, delay: 0.001),
            tokenizer: pipeline.tokenizer, configuration: configuration)
        let plain = try runConcurrently(plainExecutor, requests)
        let plainPasses = plainExecutor.statistics.forwardPasses
        plainExecutor.shutdown(gracePeriod: 1)
        for (index, request) in requests.enumerated() where request.parameters.isGreedy {
            let prompt = reference.prompts[index % reference.prompts.count]
            XCTAssertEqual(
                plain[index].outcome.generatedIDs,
                Array(prompt.greedy.prefix(request.parameters.maxNewTokens ?? 0)), prompt.text)
        }

        for draft in try drafts() {
            let target = try GPT2Model(directory: AppFixtures.tinyGPT2)
            let executor = GenerationExecutor(
                name: "tiny", model: SlowModel(target, delay: 0.001),
                tokenizer: pipeline.tokenizer, configuration: configuration, draft: draft)
            let drafted = try runConcurrently(executor, requests)
            let statistics = executor.statistics
            executor.shutdown(gracePeriod: 1)
            for (index, request) in requests.enumerated() where !request.parameters.isGreedy {
                // Sampled: its own draws, whatever the batch around it.
                let expected = try alone(request, draft: draft)
                XCTAssertEqual(
                    drafted[index].tokens.map(\.token), expected.map(\.token), "\(draft.label), request \(index)")
                XCTAssertEqual(drafted[index].tokens.map(\.text), expected.map(\.text), draft.label)
                XCTAssertEqual(drafted[index].outcome.generatedIDs, expected.map(\.token), draft.label)
            }
            for (index, request) in requests.enumerated() where request.parameters.isGreedy {
                let (expected, actual) = (plain[index], drafted[index])
                XCTAssertEqual(
                    actual.outcome.generatedIDs, expected.outcome.generatedIDs,
                    "\(draft.label), request \(index)")
                XCTAssertEqual(actual.outcome.text, expected.outcome.text, "\(draft.label), request \(index)")
                XCTAssertEqual(actual.outcome.finishReason, expected.outcome.finishReason, draft.label)
                // One event per token, in order, with the same text pieces and logprobs.
                XCTAssertEqual(actual.tokens.map(\.token), expected.tokens.map(\.token), draft.label)
                XCTAssertEqual(actual.tokens.map(\.text), expected.tokens.map(\.text), draft.label)
                // Logprobs to float rounding: a row's last bits depend on the batch's row count,
                // with or without a draft.
                XCTAssertEqual(actual.tokens.count, expected.tokens.count, draft.label)
                for (a, e) in zip(actual.tokens, expected.tokens) {
                    XCTAssertEqual(a.logprob ?? 1, e.logprob ?? 0, accuracy: 1e-4, draft.label)
                }
            }
            XCTAssertEqual(statistics.completed, requests.count, draft.label)
            // The slots really kept several tokens per pass (the variant's guesses are mostly
            // wrong, so it may not save any).
            if draft.label != "variant" { XCTAssertLessThan(statistics.forwardPasses, plainPasses, draft.label) }
        }
    }

    func testAGoodDraftLetsOneSequenceKeepSeveralTokensPerForwardPass() throws {
        let pipeline = try AppFixtures.freshPipeline()
        let prompt = try AppFixtures.reference().prompts[0]
        // The target drafting for itself agrees everywhere: rounds keep k + 1 tokens.
        let selfDraft = try GPT2Model(directory: AppFixtures.tinyGPT2)
        let draft = GenerationDraft(label: "self", draftTokens: 4) { ModelDraft(model: selfDraft) }
        let executor = GenerationExecutor(
            name: "tiny", model: pipeline.model, tokenizer: pipeline.tokenizer, draft: draft)
        defer { executor.shutdown(gracePeriod: 1) }
        let greedy = try runConcurrently(executor, [request(prompt.ids, tokens: 24)])[0]
        XCTAssertEqual(greedy.outcome.generatedIDs, Array(prompt.greedy.prefix(24)))
        XCTAssertEqual(greedy.tokens.count, 24)
        // Prefill, then rounds of 5, 6, 7, 7 tokens (the draft length grows to 7 while kept).
        XCTAssertLessThanOrEqual(executor.statistics.forwardPasses, 6)

        // A sampled request speculates too: the draft's distribution is the target's, so its
        // guesses are kept (prefill, then rounds of 5 and 4 tokens).
        let before = executor.statistics.forwardPasses
        let sampled = try runConcurrently(executor, [request(prompt.ids, tokens: 10, seed: 5)])[0]
        XCTAssertEqual(sampled.tokens.count, 10)
        XCTAssertLessThanOrEqual(executor.statistics.forwardPasses - before, 4)
    }

    func testASequenceCancelledMidRoundLeavesTheOthersExact() throws {
        let pipeline = try AppFixtures.freshPipeline()
        let reference = try AppFixtures.reference()
        let int8 = try GPT2Model(directory: AppFixtures.tinyGPT2, precision: .int8)
        let executor = GenerationExecutor(
            name: "tiny", model: SlowModel(pipeline.model, delay: 0.005),
            tokenizer: pipeline.tokenizer,
            draft: GenerationDraft(label: "int8") { ModelDraft(model: int8) })
        defer { executor.shutdown(gracePeriod: 1) }
        let doomed = GenerationEventChannel()
        let ticket = try executor.submit(request(reference.prompts[0].ids, tokens: 40), to: doomed)
        let others = GenerationEventChannel()
        for (index, prompt) in reference.prompts.prefix(3).enumerated() {
            try executor.submit(request(prompt.ids, tokens: 20), to: others, choice: index)
        }
        guard case .token = doomed.next(timeout: 30) else { return XCTFail("no first token") }
        ticket.cancel()
        var finished: [Int: [Int]] = [:]
        while finished.count < 3, let event = others.next(timeout: 30) {
            if case .finished(let choice, let outcome) = event { finished[choice] = outcome.generatedIDs }
        }
        for (index, prompt) in reference.prompts.prefix(3).enumerated() {
            XCTAssertEqual(finished[index], Array(prompt.greedy.prefix(20)), prompt.text)
        }
        var cancelledOutcome: GenerationOutcome?
        while let event = doomed.next(timeout: 30) {
            if case .finished(_, let outcome) = event {
                cancelledOutcome = outcome
                break
            }
        }
        XCTAssertEqual(cancelledOutcome?.finishReason, .cancelled)
        XCTAssertLessThan(cancelledOutcome?.generatedIDs.count ?? 40, 40)
        XCTAssertEqual(executor.statistics.cancelled, 1)
    }
    /// Greedy requests arriving one after another while others decode: the draft model's steps
    /// of every speculating slot share its forward passes, and every slot's ids are the
    /// target's own.
    func testTheDraftModelStepsEverySlotInOneBatchedPass() throws {
        let pipeline = try AppFixtures.freshPipeline()
        let reference = try AppFixtures.reference()
        let draftModel = CountingModel(try GPT2Model(directory: AppFixtures.tinyGPT2, precision: .int8))
        let executor = GenerationExecutor(
            name: "tiny", model: SlowModel(pipeline.model, delay: 0.01), tokenizer: pipeline.tokenizer,
            configuration: ExecutorConfiguration(maxBatch: 4, maxQueue: 16),
            draft: GenerationDraft(label: "int8", draftTokens: 3) { ModelDraft(model: draftModel) })
        defer { executor.shutdown(gracePeriod: 1) }
        let prompts = (0..<8).map { reference.prompts[$0 % reference.prompts.count] }
        let channel = GenerationEventChannel()
        for (index, prompt) in prompts.enumerated() {
            try executor.submit(request(prompt.ids, tokens: 12 + index % 3 * 4), to: channel, choice: index)
            Thread.sleep(forTimeInterval: 0.004)  // the next one joins a batch already decoding
        }
        var finished: [Int: [Int]] = [:]
        while finished.count < prompts.count, let event = channel.next(timeout: 60) {
            if case .finished(let choice, let outcome) = event { finished[choice] = outcome.generatedIDs }
        }
        for (index, prompt) in prompts.enumerated() {
            XCTAssertEqual(finished[index], Array(prompt.greedy.prefix(12 + index % 3 * 4)), "request \(index)")
        }
        // Four slots decoding at once took their draft steps together: one pass carried all
        // four, and most passes carried several (one slot at a time would carry one each).
        let passes = draftModel.stepsPerPass
        XCTAssertEqual(passes.max(), 4, "\(passes)")
        XCTAssertLessThan(passes.count * 2, passes.reduce(0, +), "\(passes)")
    }
}

/// A model that records how many sequences each of its forward passes carried.
final class CountingModel: CausalLanguageModel, @unchecked Sendable {
    let inner: CausalLanguageModel
    private let lock = NSLock()
    private var passes: [Int] = []

    init(_ inner: CausalLanguageModel) { self.inner = inner }

    var stepsPerPass: [Int] { lock.withLock { passes } }
    var vocabularySize: Int { inner.vocabularySize }
    var maxPositions: Int { inner.maxPositions }
    var writesLogitsForEveryToken: Bool { inner.writesLogitsForEveryToken }
    func makeCache(capacity: Int) -> KVCache { inner.makeCache(capacity: capacity) }
    func forward(_ steps: [SequenceStep], logits: UnsafeMutablePointer<Float>) throws {
        lock.withLock { passes.append(steps.count) }
        try inner.forward(steps, logits: logits)
    }
}
