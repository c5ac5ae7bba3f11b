import Foundation
import Generation
import HTTPServer

/// A generation waiting in an executor's queue: what to generate and where its events go.
public struct PendingGeneration {
    let request: GenerationRequest
    let channel: GenerationEventChannel
    let choice: Int
}

/// One sequence in the running batch: its sampling state, its cache, where it goes.
public final class GenerationSlot {
    enum State {
        /// The next forward pass reads the whole prompt.
        case prefill
        /// The next forward pass reads the token chosen last.
        case decode
    }

    let pending: PendingGeneration
    let sequence: GenerationSequence
    let cache: KVCache
    var state = State.prefill
    /// One-element buffer for decode steps, reused every iteration (no allocation per step).
    var nextToken = [0]
    /// With a served draft, the slot's speculative decoder (its own buffers and draft cache):
    /// each decode step is its draft's guesses then its verify pass. Nil runs the plain
    /// one-token steps.
    var speculation: SpeculativeDecoder?
    let submittedAt: DispatchTime
    let admittedAt: DispatchTime
    var firstTokenAt: DispatchTime?
    var lastTokenAt: DispatchTime?

    init(
        pending: PendingGeneration, sequence: GenerationSequence, cache: KVCache, submittedAt: DispatchTime,
        admittedAt: DispatchTime
    ) {
        self.pending = pending
        self.submittedAt = submittedAt
        self.sequence = sequence
        self.cache = cache
        self.admittedAt = admittedAt
    }

    /// The tokens this slot adds to the next forward pass.
    var stepTokens: ArraySlice<Int> {
        state == .prefill ? pending.request.promptIDs[...] : nextToken[...]
    }

    func outcome(finishedAt now: DispatchTime) -> GenerationOutcome {
        var timings = RequestTimings()
        timings.queueMs = milliseconds(from: submittedAt, to: admittedAt)
        if let first = firstTokenAt {
            timings.timeToFirstTokenMs = milliseconds(from: submittedAt, to: first)
            timings.decodeMs = milliseconds(from: first, to: lastTokenAt ?? first)
        }
        timings.totalMs = milliseconds(from: submittedAt, to: now)
        timings.promptTokens = pending.request.promptIDs.count
        timings.generatedTokens = sequence.generatedIDs.count
        return GenerationOutcome(
            promptIDs: pending.request.promptIDs, generatedIDs: sequence.generatedIDs, text: sequence.text,
            finishReason: sequence.finishReason ?? .cancelled, stopString: sequence.stopString,
            seed: sequence.sampler.seed, timings: timings)
    }
}

func milliseconds(from start: DispatchTime, to end: DispatchTime) -> Double {
    end.uptimeNanoseconds >= start.uptimeNanoseconds ? Double(end.uptimeNanoseconds - start.uptimeNanoseconds) / 1e6 : 0
}
