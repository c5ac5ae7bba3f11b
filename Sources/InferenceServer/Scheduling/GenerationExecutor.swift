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
    /// With `draft`, sequences decode speculatively (see `GenerationStepper`).
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
/// With a draft, each sequence brings its speculative verify step (its last token and the
/// draft's guesses, a logits row for each) to the same forward pass, and sends every token the
/// round kept as its own event, in order. Before it, the sequences whose guesses come from a
/// draft model take their draft step j together, one batched forward pass of the draft model
/// per j, each on its own draft cache; a sequence whose round wants fewer guesses drops out.
/// Greedy output is the target's own; sampled output is distributed as the target's
/// (`SpeculativeSampling`), drawn from the sequence's own seeded stream, so a seeded request
/// gives the same tokens whatever the batch around it.
public final class GenerationStepper: BatchStepper {
    public static let threadLabel = "generation"
    private let name: String
    private let model: CausalLanguageModel
    private let tokenizer: Tokenizer
    private let metrics: ServerMetrics?
    private let draft: GenerationDraft?
    private let logits: UnsafeMutablePointer<Float>
    private var steps: [SequenceStep] = []
    /// One row of draft logits per slot, and the slots still guessing this round.
    private let draftLogits: UnsafeMutablePointer<Float>?
    private var guessing: [GenerationSlot] = []
    private var draftSteps: [SequenceStep] = []
    private var draftStepSlots: [GenerationSlot] = []
    /// Decoders of finished slots, reused by the next admissions (their buffers and
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
        draftLogits = self.draft == nil ? nil : .allocate(capacity: maxBatch * model.vocabularySize)
        guessing.reserveCapacity(maxBatch)
        draftSteps.reserveCapacity(maxBatch)
        draftStepSlots.reserveCapacity(maxBatch)
    }

    deinit {
        logits.deallocate()
        draftLogits?.deallocate()
    }

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
        if capacity <= model.maxPositions && !sequence.isFinished {
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
        try guessTogether(slots)
        for slot in slots {
            if slot.state == .decode, let decoder = slot.speculation {
                steps.append(decoder.verifyStepOfGuesses(slot.sequence, cache: slot.cache))
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

    /// The draft guesses of every speculating slot: guess j of every slot whose draft model
    /// makes it, in one forward pass of that model (slots drafting with other models wait for
    /// the next pass), until every slot has the guesses its round wants.
    private func guessTogether(_ slots: [GenerationSlot]) throws {
        guard let draftLogits else { return }
        for slot in slots where slot.state == .decode {
            guard let decoder = slot.speculation else { continue }
            try decoder.beginRound(slot.sequence)
            if decoder.draftModel != nil { guessing.append(slot) }
        }
        defer {
            guessing.removeAll(keepingCapacity: true)
            draftSteps.removeAll(keepingCapacity: true)
            draftStepSlots.removeAll(keepingCapacity: true)
        }
        while let model = guessing.first?.speculation?.draftModel {
            var index = 0
            while index < guessing.count {
                let slot = guessing[index]
                guard let decoder = slot.speculation, let own = decoder.draftModel, own === model else {
                    index += 1
                    continue
                }
                if let step = decoder.draftStep(slot.sequence) {
                    draftSteps.append(step)
                    draftStepSlots.append(slot)
                    index += 1
                } else {
                    guessing.remove(at: index)  // this round's guesses are made
                }
            }
            guard !draftSteps.isEmpty else { continue }
            try model.forward(draftSteps, logits: draftLogits)
            draftSteps.removeAll(keepingCapacity: true)  // before the guesses are appended to the histories
            for row in draftStepSlots.indices {
                let slot = draftStepSlots[row]
                slot.speculation?.takeDraftGuess(slot.sequence, logits: draftLogits + row * model.vocabularySize)
            }
            draftStepSlots.removeAll(keepingCapacity: true)
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
