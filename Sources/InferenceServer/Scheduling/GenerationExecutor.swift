import Foundation
import Generation
import HTTPServer
import Tokenizer

/// Text generation on the executor skeleton: every slot is one sequence, and a step is ONE
/// forward pass over every slot — new slots bring their whole prompt, the others the token
/// they chose last. A sequence's tokens do not depend on the company it keeps: its cache,
/// sampler and stop state are its own, and its logits row is computed from its own
/// positions only.
public typealias GenerationExecutor = ModelExecutor<GenerationStepper>

/// The caller's handle on a submitted generation (see `ExecutorTicket`).
public typealias GenerationTicket = ExecutorTicket

extension ModelExecutor where Stepper == GenerationStepper {
    /// Starts the executor's thread. The model must not be driven by anyone else afterwards.
    public convenience init(
        name: String, model: CausalLanguageModel, tokenizer: Tokenizer,
        configuration: Configuration = Configuration(), metrics: ServerMetrics? = nil
    ) {
        let stepper = GenerationStepper(
            name: name, model: model, tokenizer: tokenizer,
            maxBatch: configuration.maxBatch, metrics: metrics)
        self.init(name: name, stepper: stepper, configuration: configuration, metrics: metrics)
    }

    /// Queues `request`; its events go to `channel`, tagged `choice`.
    /// - Throws: `ExecutorError.queueFull` or `.shuttingDown`, before anything is queued.
    @discardableResult
    public func submit(
        _ request: GenerationRequest, to channel: GenerationEventChannel,
        choice: Int = 0
    ) throws -> GenerationTicket {
        try submit([PendingGeneration(request: request, channel: channel, choice: choice)], timeout: request.timeout)
    }
}

/// One forward pass of a `CausalLanguageModel` over every running sequence, and each
/// sequence's next token sent to its `GenerationEventChannel`.
public final class GenerationStepper: BatchStepper {
    public static let threadLabel = "generation"
    private let name: String
    private let model: CausalLanguageModel
    private let tokenizer: Tokenizer
    private let metrics: ServerMetrics?
    private let logits: UnsafeMutablePointer<Float>
    private var steps: [SequenceStep] = []

    init(name: String, model: CausalLanguageModel, tokenizer: Tokenizer, maxBatch: Int, metrics: ServerMetrics?) {
        self.name = name
        self.model = model
        self.tokenizer = tokenizer
        self.metrics = metrics
        logits = .allocate(capacity: maxBatch * model.vocabularySize)
        steps.reserveCapacity(maxBatch)
    }

    deinit { logits.deallocate() }

    public func admit(_ pending: PendingGeneration, submittedAt: DispatchTime, now: DispatchTime) throws
        -> GenerationSlot
    {
        let request = pending.request
        let sequence = try GenerationSequence(
            promptIDs: request.promptIDs, parameters: request.parameters, tokenizer: tokenizer,
            vocabularySize: model.vocabularySize, maxPositions: model.maxPositions,
            wantsLogprobs: request.wantsLogprobs, topLogprobs: request.topLogprobs)
        let cache = model.makeCache(capacity: min(model.maxPositions, request.promptIDs.count + sequence.maxNewTokens))
        metrics?.recordAdmission(model: name, promptTokens: request.promptIDs.count)
        return GenerationSlot(
            pending: pending, sequence: sequence, cache: cache, submittedAt: submittedAt, admittedAt: now)
    }

    public func step(_ slots: [GenerationSlot]) throws {
        let vocabulary = model.vocabularySize
        for slot in slots { steps.append(SequenceStep(cache: slot.cache, tokens: slot.stepTokens)) }
        defer { steps.removeAll(keepingCapacity: true) }  // drop the references to the token buffers
        try model.forward(steps, logits: logits)
        steps.removeAll(keepingCapacity: true)
        let stepTime = DispatchTime.now()
        for (row, slot) in slots.enumerated() {
            let step = slot.sequence.advance(logits: logits + row * vocabulary)
            slot.state = .decode
            slot.nextToken[0] = step.token
            recordTokenTiming(slot, at: stepTime)
            slot.pending.channel.send(.token(choice: slot.pending.choice, step: step))
        }
    }

    public func isFinished(_ slot: GenerationSlot) -> Bool { slot.sequence.isFinished }

    public func finish(_ slot: GenerationSlot, cancelled: Bool, now: DispatchTime) {
        if cancelled { slot.sequence.cancel() }
        slot.pending.channel.send(.finished(choice: slot.pending.choice, outcome: slot.outcome(finishedAt: now)))
    }

    public func fail(_ pending: PendingGeneration, error: Error) {
        pending.channel.send(.failed(choice: pending.choice, error: error))
    }

    public func cancelBeforeAdmission(_ pending: PendingGeneration) {
        let empty = GenerationOutcome(
            promptIDs: pending.request.promptIDs, generatedIDs: [], text: "",
            finishReason: .cancelled, stopString: nil, seed: 0, timings: RequestTimings())
        pending.channel.send(.finished(choice: pending.choice, outcome: empty))
    }

    public func unit(of slot: GenerationSlot) -> PendingGeneration { slot.pending }

    private func recordTokenTiming(_ slot: GenerationSlot, at now: DispatchTime) {
        if let last = slot.lastTokenAt {
            metrics?.recordNextToken(model: name, seconds: milliseconds(from: last, to: now) / 1000)
        } else {
            slot.firstTokenAt = now
            metrics?.recordFirstToken(model: name, seconds: milliseconds(from: slot.submittedAt, to: now) / 1000)
        }
        slot.lastTokenAt = now
    }
}
