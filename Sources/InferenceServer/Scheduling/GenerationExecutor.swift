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
    /// With `draft`, greedy sequences decode speculatively (see `GenerationStepper`).
    public convenience init(
        name: String, model: CausalLanguageModel, tokenizer: Tokenizer,
        configuration: Configuration = Configuration(), metrics: ServerMetrics? = nil,
        draft: GenerationDraft? = nil
    ) {
        let stepper = GenerationStepper(
            name: name, model: model, tokenizer: tokenizer,
            maxBatch: configuration.maxBatch, metrics: metrics, draft: draft)
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
///
/// With a draft, each greedy sequence brings its speculative verify step (its last token and
/// the draft's guesses, a logits row for each) to the same forward pass, and sends every token
/// the round kept as its own event, in order. Sampled sequences run plain one-token steps, so
/// a seeded request gives the same text with or without a draft.
public final class GenerationStepper: BatchStepper {
    public static let threadLabel = "generation"
    private let name: String
    private let model: CausalLanguageModel
    private let tokenizer: Tokenizer
    private let metrics: ServerMetrics?
    private let draft: GenerationDraft?
    private let logits: UnsafeMutablePointer<Float>
    private var steps: [SequenceStep] = []
    /// Decoders of finished slots, reused by the next greedy admissions (their buffers and
    /// draft caches are sized once).
    private var idleDecoders: [SpeculativeDecoder] = []

    init(
        name: String, model: CausalLanguageModel, tokenizer: Tokenizer, maxBatch: Int, metrics: ServerMetrics?,
        draft: GenerationDraft? = nil
    ) {
        self.name = name
        self.model = model
        self.tokenizer = tokenizer
        self.metrics = metrics
        // A model that cannot score every token of a step cannot verify: it runs plainly.
        self.draft = model.writesLogitsForEveryToken ? draft : nil
        let rowsPerSlot = self.draft == nil ? 1 : SpeculativeDecoder.defaultMaxDraftTokens + 1
        logits = .allocate(capacity: maxBatch * rowsPerSlot * model.vocabularySize)
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
        let capacity = request.promptIDs.count + sequence.maxNewTokens
        let cache = model.makeCache(capacity: min(model.maxPositions, capacity))
        metrics?.recordAdmission(model: name, promptTokens: request.promptIDs.count)
        let slot = GenerationSlot(
            pending: pending, sequence: sequence, cache: cache, submittedAt: submittedAt,
            admittedAt: now)
        if request.parameters.isGreedy && capacity <= model.maxPositions && !sequence.isFinished {
            slot.speculation = try speculativeDecoder(capacity: capacity)
        }
        return slot
    }

    /// A decoder started for a sequence of `capacity` positions, or nil when the draft cannot
    /// take it (a draft model with fewer positions): that sequence runs plainly.
    private func speculativeDecoder(capacity: Int) throws -> SpeculativeDecoder? {
        guard let draft else { return nil }
        let decoder =
            try idleDecoders.popLast()
            ?? SpeculativeDecoder(
                target: model, draft: draft.makeDraft(), tokenizer: tokenizer,
                draftTokens: draft.draftTokens)
        do {
            try decoder.begin(capacity: capacity)
        } catch SpeculativeError.draftContextTooShort {
            idleDecoders.append(decoder)
            return nil
        }
        return decoder
    }

    public func step(_ slots: [GenerationSlot]) throws {
        let vocabulary = model.vocabularySize
        for slot in slots {
            if slot.state == .decode, let decoder = slot.speculation {
                steps.append(try decoder.verifyStep(slot.sequence, cache: slot.cache))
            } else {
                steps.append(SequenceStep(cache: slot.cache, tokens: slot.stepTokens))
            }
        }
        defer { steps.removeAll(keepingCapacity: true) }  // drop the references to the token buffers
        try model.forward(steps, logits: logits)
        let stepTime = DispatchTime.now()
        var row = 0
        for (index, slot) in slots.enumerated() {
            let rows = logits + row * vocabulary
            row += steps[index].logitsRows
            if slot.state == .decode, let decoder = slot.speculation {
                finishRound(slot, decoder: decoder, logits: rows, at: stepTime)
                continue
            }
            let step = slot.sequence.advance(logits: rows)
            slot.state = .decode
            slot.nextToken[0] = step.token
            recordTokenTiming(slot, at: stepTime)
            slot.pending.channel.send(.token(choice: slot.pending.choice, step: step))
        }
    }

    /// Keeps the draft's guesses the target agrees with, and the target's own next token: each
    /// goes to the client as its own event, in order.
    private func finishRound(
        _ slot: GenerationSlot, decoder: SpeculativeDecoder, logits: UnsafeMutablePointer<Float>,
        at now: DispatchTime
    ) {
        let channel = slot.pending.channel
        let choice = slot.pending.choice
        var kept = 0
        _ = decoder.finishRound(slot.sequence, cache: slot.cache, logits: logits) { step in
            kept += 1
            channel.send(.token(choice: choice, step: step))
            return true  // a cancelled client is retired before the next step
        }
        recordRoundTiming(slot, tokens: kept, at: now)
    }

    public func isFinished(_ slot: GenerationSlot) -> Bool { slot.sequence.isFinished }

    public func finish(_ slot: GenerationSlot, cancelled: Bool, now: DispatchTime) {
        if cancelled { slot.sequence.cancel() }
        if let decoder = slot.speculation {
            slot.speculation = nil
            idleDecoders.append(decoder)
        }
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

    /// A round's tokens arrive together: the time since the slot's previous token is shared
    /// among them, so the latency histogram still sums to the decode time.
    private func recordRoundTiming(_ slot: GenerationSlot, tokens: Int, at now: DispatchTime) {
        guard tokens > 0, let last = slot.lastTokenAt else { return }
        let seconds = milliseconds(from: last, to: now) / 1000 / Double(tokens)
        for _ in 0..<tokens { metrics?.recordNextToken(model: name, seconds: seconds) }
        slot.lastTokenAt = now
    }
}
