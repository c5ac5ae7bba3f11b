import Foundation
import HTTPServer
import Generation
import Tokenizer

/// Runs every generation of one model with continuous batching, on one dedicated thread
/// that owns the model.
///
/// Each iteration admits queued requests into free slots (up to `maxBatch`), then makes
/// ONE forward pass over every active slot — new slots bring their whole prompt, the
/// others the token they chose last — and advances each sequence with its row of logits.
/// Finished, cancelled and timed-out sequences leave the batch between passes, so a
/// short request never waits for a long one to end. A sequence's tokens do not depend on
/// the company it keeps: its cache, sampler and stop state are its own, and its logits
/// row is computed from its own positions only.
///
/// Requests beyond `maxBatch` wait in a bounded FIFO queue; over `maxQueue` a submission
/// fails at once with `ExecutorError.queueFull`. Results go out through each request's
/// `GenerationEventChannel`: the executor never blocks on a client.
public final class GenerationExecutor: @unchecked Sendable {
    public struct Configuration: Sendable {
        /// Sequences per forward pass.
        public var maxBatch: Int = 8
        /// Requests allowed to wait for a slot.
        public var maxQueue: Int = 64
        /// `Retry-After` suggested when the queue is full.
        public var retryAfterSeconds: Int = 1

        public init(maxBatch: Int = 8, maxQueue: Int = 64, retryAfterSeconds: Int = 1) {
            self.maxBatch = max(1, maxBatch)
            self.maxQueue = max(0, maxQueue)
            self.retryAfterSeconds = max(1, retryAfterSeconds)
        }
    }

    /// Counters for tests and logs.
    public struct Statistics: Sendable, Equatable {
        public var forwardPasses = 0
        public var largestBatch = 0
        public var completed = 0
        public var cancelled = 0
        public var failed = 0
    }

    private enum State { case running, draining, stopped }

    public let name: String
    public let configuration: Configuration
    private let model: CausalLanguageModel
    private let tokenizer: Tokenizer
    private let metrics: ServerMetrics?

    private let condition = NSCondition()
    private var queue: [PendingGeneration] = []
    private var state = State.running
    private var activeCount = 0
    private var stats = Statistics()
    private let exited = DispatchSemaphore(value: 0)

    /// Starts the executor's thread. The model must not be driven by anyone else afterwards.
    public init(name: String, model: CausalLanguageModel, tokenizer: Tokenizer,
                configuration: Configuration = Configuration(), metrics: ServerMetrics? = nil) {
        self.name = name
        self.model = model
        self.tokenizer = tokenizer
        self.configuration = configuration
        self.metrics = metrics
        metrics?.register(model: name)  // every loaded model has its series from the start
        let thread = Thread { [self] in
            run()
            exited.signal()
        }
        thread.name = "generation.\(name)"
        thread.stackSize = 4 << 20
        thread.start()
    }

    /// Queues `request`; its events go to `channel`, tagged `choice`.
    /// - Throws: `ExecutorError.queueFull` or `.shuttingDown`, before anything is queued.
    @discardableResult
    public func submit(_ request: GenerationRequest, to channel: GenerationEventChannel, choice: Int = 0) throws -> GenerationTicket {
        let ticket = GenerationTicket { [weak self] in self?.wake() }
        condition.lock()
        defer { condition.unlock() }
        guard state == .running else { throw ExecutorError.shuttingDown(model: name) }
        // A request that can start right away does not count against the queue.
        let freeSlots = configuration.maxBatch - activeCount
        guard queue.count < configuration.maxQueue + max(0, freeSlots) else {
            throw ExecutorError.queueFull(model: name, capacity: configuration.maxQueue,
                                          retryAfterSeconds: configuration.retryAfterSeconds)
        }
        queue.append(PendingGeneration(request: request, channel: channel, choice: choice, ticket: ticket,
                                       submittedAt: .now()))
        condition.signal()
        return ticket
    }

    /// Requests waiting for a slot.
    public var queueDepth: Int {
        condition.lock()
        defer { condition.unlock() }
        return queue.count
    }

    public var statistics: Statistics {
        condition.lock()
        defer { condition.unlock() }
        return stats
    }

    /// Refuses new work, lets queued and running requests finish for up to `gracePeriod`
    /// seconds, then ends the rest with `ExecutorError.shuttingDown`; returns once the
    /// executor's thread is gone. Idempotent.
    public func shutdown(gracePeriod: TimeInterval) {
        condition.lock()
        let first = state == .running
        if first { state = .draining }
        condition.broadcast()
        condition.unlock()
        guard first else { return }
        let stopped = exited.wait(timeout: .now() + max(0, gracePeriod)) == .success
        if !stopped {
            condition.lock()
            state = .stopped
            condition.broadcast()
            condition.unlock()
            exited.wait()
        }
        exited.signal()  // later callers of shutdown never wait
    }

    private func wake() {
        condition.lock()
        condition.signal()
        condition.unlock()
    }

    // MARK: The batching loop

    private func run() {
        let vocabulary = model.vocabularySize
        let logits = UnsafeMutablePointer<Float>.allocate(capacity: configuration.maxBatch * vocabulary)
        defer { logits.deallocate() }
        var active: [GenerationSlot] = []
        active.reserveCapacity(configuration.maxBatch)
        var steps: [SequenceStep] = []
        steps.reserveCapacity(configuration.maxBatch)

        while true {
            condition.lock()
            while active.isEmpty && queue.isEmpty && state == .running { condition.wait() }
            if state == .stopped || (active.isEmpty && queue.isEmpty) {
                let abandoned = queue
                queue.removeAll()
                condition.unlock()
                let error = ExecutorError.shuttingDown(model: name)
                for pending in abandoned { fail(pending, error) }
                for slot in active { fail(slot.pending, error) }
                recordQueue(active: 0)
                return
            }
            let free = configuration.maxBatch - active.count
            let admitted = Array(queue.prefix(free))
            queue.removeFirst(admitted.count)
            condition.unlock()

            let now = DispatchTime.now()
            for pending in admitted {
                if let slot = admit(pending, at: now) { active.append(slot) }
            }
            active.removeAll { retireIfInterrupted($0, now: now) }
            recordQueue(active: active.count)
            guard !active.isEmpty else { continue }

            for slot in active { steps.append(SequenceStep(cache: slot.cache, tokens: slot.stepTokens)) }
            do {
                try model.forward(steps, logits: logits)
            } catch {
                steps.removeAll(keepingCapacity: true)
                let failure = ExecutorError.modelFailure(model: name, reason: String(describing: error))
                for slot in active { fail(slot.pending, failure) }
                active.removeAll(keepingCapacity: true)
                recordQueue(active: 0)
                continue
            }
            // Drop the steps' references to the token buffers before writing them again.
            steps.removeAll(keepingCapacity: true)
            noteBatch(size: active.count)

            let stepTime = DispatchTime.now()
            for (row, slot) in active.enumerated() {
                let step = slot.sequence.advance(logits: logits + row * vocabulary)
                slot.state = .decode
                slot.nextToken[0] = step.token
                recordTokenTiming(slot, at: stepTime)
                slot.pending.channel.send(.token(choice: slot.pending.choice, step: step))
            }
            active.removeAll { slot in
                guard slot.sequence.isFinished else { return false }
                finish(slot, at: stepTime)
                return true
            }
            // Before waiting for work again: an idle executor reports 0 active sequences.
            recordQueue(active: active.count)
        }
    }

    /// A slot for `pending`, or nil when it ends before running (cancelled while queued,
    /// out of time, invalid, or nothing to generate).
    private func admit(_ pending: PendingGeneration, at now: DispatchTime) -> GenerationSlot? {
        if pending.ticket.isCancelled {
            metrics?.recordFinished(model: name, cancelled: true)
            count { $0.cancelled += 1 }
            let empty = GenerationOutcome(promptIDs: pending.request.promptIDs, generatedIDs: [], text: "",
                                          finishReason: .cancelled, stopString: nil, seed: 0, timings: RequestTimings())
            pending.channel.send(.finished(choice: pending.choice, outcome: empty))
            return nil
        }
        if let deadline = pending.deadline, now >= deadline {
            metrics?.recordTimeout(model: name)
            fail(pending, ExecutorError.timedOut(seconds: pending.request.timeout ?? 0))
            return nil
        }
        let request = pending.request
        do {
            let sequence = try GenerationSequence(
                promptIDs: request.promptIDs, parameters: request.parameters, tokenizer: tokenizer,
                vocabularySize: model.vocabularySize, maxPositions: model.maxPositions,
                wantsLogprobs: request.wantsLogprobs, topLogprobs: request.topLogprobs)
            let cache = model.makeCache(capacity: min(model.maxPositions, request.promptIDs.count + sequence.maxNewTokens))
            let slot = GenerationSlot(pending: pending, sequence: sequence, cache: cache, admittedAt: now)
            metrics?.recordAdmission(model: name, promptTokens: request.promptIDs.count)
            if sequence.isFinished {  // a budget of zero tokens
                finish(slot, at: now)
                return nil
            }
            return slot
        } catch {
            fail(pending, error)
            return nil
        }
    }

    /// Ends a slot whose client cancelled or whose deadline passed; true when it did.
    private func retireIfInterrupted(_ slot: GenerationSlot, now: DispatchTime) -> Bool {
        if slot.pending.ticket.isCancelled {
            slot.sequence.cancel()
            finish(slot, at: now)
            return true
        }
        if let deadline = slot.pending.deadline, now >= deadline {
            metrics?.recordTimeout(model: name)
            fail(slot.pending, ExecutorError.timedOut(seconds: slot.pending.request.timeout ?? 0))
            return true
        }
        return false
    }

    private func finish(_ slot: GenerationSlot, at now: DispatchTime) {
        let outcome = slot.outcome(finishedAt: now)
        let cancelled = outcome.finishReason == .cancelled
        metrics?.recordFinished(model: name, cancelled: cancelled)
        count { cancelled ? ($0.cancelled += 1) : ($0.completed += 1) }
        slot.pending.channel.send(.finished(choice: slot.pending.choice, outcome: outcome))
    }

    private func fail(_ pending: PendingGeneration, _ error: Error) {
        count { $0.failed += 1 }
        pending.channel.send(.failed(choice: pending.choice, error: error))
    }

    private func recordTokenTiming(_ slot: GenerationSlot, at now: DispatchTime) {
        if let last = slot.lastTokenAt {
            metrics?.recordNextToken(model: name, seconds: milliseconds(from: last, to: now) / 1000)
        } else {
            slot.firstTokenAt = now
            metrics?.recordFirstToken(model: name, seconds: milliseconds(from: slot.pending.submittedAt, to: now) / 1000)
        }
        slot.lastTokenAt = now
    }

    private func noteBatch(size: Int) {
        metrics?.recordBatch(model: name, size: size)
        count {
            $0.forwardPasses += 1
            $0.largestBatch = max($0.largestBatch, size)
        }
    }

    private func recordQueue(active: Int) {
        condition.lock()
        activeCount = active
        let depth = queue.count
        condition.unlock()
        metrics?.recordQueue(model: name, depth: depth, active: active)
    }

    private func count(_ body: (inout Statistics) -> Void) {
        condition.lock()
        body(&stats)
        condition.unlock()
    }
}
