import Foundation
import HTTPServer
import Synchronization

/// Sizes of an executor's running batch and of its queue.
public struct ExecutorConfiguration: Sendable {
    /// Slots in the running batch (sequences for generation, sentences for translation).
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

/// Counters of an executor, for tests and logs.
public struct ExecutorStatistics: Sendable, Equatable {
    /// Batched model steps run.
    public var forwardPasses = 0
    /// The most slots one step carried.
    public var largestBatch = 0
    /// Slots that ran to their end, cancelled ones, and units that failed (invalid, timed out,
    /// shutdown, model failure).
    public var completed = 0
    public var cancelled = 0
    public var failed = 0
}

/// The model-specific half of a `ModelExecutor`: what a slot is, how a queued unit becomes
/// one, one batched model step over all slots, and where results go. Called on the
/// executor's thread only, so it may own the model and scratch memory.
public protocol BatchStepper: AnyObject {
    /// One slot's worth of queued work (a sequence to generate, a sentence to translate).
    associatedtype Unit
    /// A unit in the running batch, with its model state.
    associatedtype Slot: AnyObject

    /// "generation" or "translation": names the executor's thread.
    static var threadLabel: String { get }
    /// A slot for `unit`, submitted at `submittedAt`. Throws when the unit cannot run
    /// (invalid parameters); the executor then fails it with that error.
    func admit(_ unit: Unit, submittedAt: DispatchTime, now: DispatchTime) throws -> Slot
    /// One model step over every slot (each has not finished).
    func step(_ slots: [Slot]) throws
    /// Whether the slot has nothing more to compute.
    func isFinished(_ slot: Slot) -> Bool
    /// Delivers the slot's result: it ended, or its client cancelled it (`cancelled`).
    func finish(_ slot: Slot, cancelled: Bool, now: DispatchTime)
    /// Delivers `error` for a unit that did not run to its end.
    func fail(_ unit: Unit, error: Error)
    /// Delivers the result of a unit cancelled before it got a slot.
    func cancelBeforeAdmission(_ unit: Unit)
    /// The unit a slot runs.
    func unit(of slot: Slot) -> Unit
}

/// The caller's handle on a submission: cancel it from any thread (a client disconnect
/// handler, a job cancellation). Queued units are dropped at admission; running ones are
/// retired before the next model step and finish cancelled.
public final class ExecutorTicket: Sendable {
    private let cancelled = Atomic(false)
    private let wake: @Sendable () -> Void

    init(wake: @escaping @Sendable () -> Void) {
        self.wake = wake
    }

    public func cancel() {
        let wasCancelled = cancelled.exchange(true, ordering: .acquiringAndReleasing)
        if !wasCancelled { wake() }
    }

    public var isCancelled: Bool { cancelled.load(ordering: .acquiring) }
}

/// Runs every request of one model with continuous batching, on one dedicated thread that
/// owns the model; `Stepper` says what one model step is.
///
/// Each iteration admits queued units into free slots (up to `maxBatch`), retires slots
/// whose client cancelled or whose deadline passed, runs ONE model step over every slot,
/// and retires the slots that finished, so a short request never waits for a long one.
/// Requests beyond the batch wait in a bounded FIFO queue; over `maxQueue` a submission
/// fails at once with `ExecutorError.queueFull`. Results go out through the stepper, which
/// never blocks on a client.
///
/// Sendable by hand: the queue and counters are only touched under `condition`; the stepper
/// and the slots belong to the executor's thread.
public final class ModelExecutor<Stepper: BatchStepper>: @unchecked Sendable {
    public typealias Configuration = ExecutorConfiguration
    public typealias Statistics = ExecutorStatistics

    /// How a submission's units ended so far: `/metrics` counts requests (one completion or
    /// cancellation per submission), the statistics count slots. Executor thread only.
    private final class Outcome {
        var unended: Int
        var cancelled = false
        var failed = false
        var timedOut = false
        init(units: Int) { unended = units }
    }

    private struct Submission {
        /// Units not yet admitted, in order.
        var units: ArraySlice<Stepper.Unit>
        let outcome: Outcome
        let ticket: ExecutorTicket
        let submittedAt: DispatchTime
        let timeout: TimeInterval?
        var deadline: DispatchTime? { timeout.map { submittedAt + $0 } }
    }

    private struct Running {
        let slot: Stepper.Slot
        let outcome: Outcome
        let ticket: ExecutorTicket
        let deadline: DispatchTime?
        let timeout: TimeInterval?
    }

    private enum State { case running, draining, stopped }

    public let name: String
    public let configuration: Configuration
    let stepper: Stepper
    private let metrics: ServerMetrics?

    private let condition = NSCondition()
    private var queue: [Submission] = []
    private var state = State.running
    private var activeCount = 0
    private var stats = Statistics()
    private let exited = DispatchSemaphore(value: 0)

    /// Starts the executor's thread. The stepper (and its model) must not be driven by
    /// anyone else afterwards.
    public init(
        name: String, stepper: Stepper, configuration: Configuration = Configuration(),
        metrics: ServerMetrics? = nil
    ) {
        self.name = name
        self.stepper = stepper
        self.configuration = configuration
        self.metrics = metrics
        metrics?.register(model: name)  // every loaded model has its series from the start
        let thread = Thread { [self] in
            run()
            exited.signal()
        }
        thread.name = "\(Stepper.threadLabel).\(name)"
        thread.stackSize = 4 << 20
        thread.start()
    }

    /// Queues `units` as one submission (all or none) that fails with `ExecutorError.timedOut`
    /// `timeout` seconds from now (queue time included) unless finished.
    /// - Throws: `ExecutorError.queueFull` or `.shuttingDown`, before anything is queued.
    public func submit(_ units: [Stepper.Unit], timeout: TimeInterval?) throws -> ExecutorTicket {
        let ticket = ExecutorTicket { [weak self] in self?.wake() }
        condition.lock()
        defer { condition.unlock() }
        guard state == .running else { throw ExecutorError.shuttingDown(model: name) }
        // A request that can start right away does not count against the queue.
        let freeSlots = configuration.maxBatch - activeCount
        guard queue.count < configuration.maxQueue + max(0, freeSlots) else {
            throw ExecutorError.queueFull(
                model: name, capacity: configuration.maxQueue,
                retryAfterSeconds: configuration.retryAfterSeconds)
        }
        queue.append(
            Submission(
                units: units[...], outcome: Outcome(units: units.count), ticket: ticket,
                submittedAt: .now(), timeout: timeout))
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
        var active: [Running] = []
        active.reserveCapacity(configuration.maxBatch)
        var slots: [Stepper.Slot] = []
        slots.reserveCapacity(configuration.maxBatch)

        while true {
            condition.lock()
            while active.isEmpty && queue.isEmpty && state == .running { condition.wait() }
            if state == .stopped || (active.isEmpty && queue.isEmpty) {
                let abandoned = queue
                queue.removeAll()
                condition.unlock()
                let error = ExecutorError.shuttingDown(model: name)
                for submission in abandoned {
                    for unit in submission.units { fail(unit, submission.outcome, error) }
                }
                for running in active { fail(stepper.unit(of: running.slot), running.outcome, error) }
                recordQueue(active: 0)
                return
            }
            let admitted = takeQueuedUnits(free: configuration.maxBatch - active.count)
            condition.unlock()

            let now = DispatchTime.now()
            for (unit, submission) in admitted {
                if let running = admit(unit, submission, now: now) { active.append(running) }
            }
            active.removeAll { retireIfInterrupted($0, now: now) }
            recordQueue(active: active.count)
            guard !active.isEmpty else { continue }

            for running in active { slots.append(running.slot) }
            do {
                try stepper.step(slots)
            } catch {
                slots.removeAll(keepingCapacity: true)
                let failure = ExecutorError.modelFailure(model: name, reason: String(describing: error))
                for running in active { fail(stepper.unit(of: running.slot), running.outcome, failure) }
                active.removeAll(keepingCapacity: true)
                recordQueue(active: 0)
                continue
            }
            slots.removeAll(keepingCapacity: true)
            noteStep(size: active.count)

            let stepTime = DispatchTime.now()
            active.removeAll { running in
                guard stepper.isFinished(running.slot) else { return false }
                finish(running.slot, running.outcome, cancelled: false, at: stepTime)
                return true
            }
            // Before waiting for work again: an idle executor reports 0 active slots.
            recordQueue(active: active.count)
        }
    }

    /// Up to `free` units from the head of the queue (called with the lock held); a
    /// submission leaves the queue with its last unit.
    private func takeQueuedUnits(free: Int) -> [(Stepper.Unit, Submission)] {
        var taken: [(Stepper.Unit, Submission)] = []
        while taken.count < free, !queue.isEmpty {
            let head = queue[0]
            let count = min(free - taken.count, head.units.count)
            for unit in head.units.prefix(count) { taken.append((unit, head)) }
            queue[0].units = head.units.dropFirst(count)
            if queue[0].units.isEmpty { queue.removeFirst() }
        }
        return taken
    }

    /// The running slot for `unit`, or nil when it ends before running (cancelled while
    /// queued, out of time, invalid, or nothing to compute).
    private func admit(_ unit: Stepper.Unit, _ submission: Submission, now: DispatchTime) -> Running? {
        let outcome = submission.outcome
        if submission.ticket.isCancelled {
            count { $0.cancelled += 1 }
            ended(outcome, cancelled: true)
            stepper.cancelBeforeAdmission(unit)
            return nil
        }
        if let deadline = submission.deadline, now >= deadline {
            timedOut(unit, outcome, seconds: submission.timeout)
            return nil
        }
        do {
            let slot = try stepper.admit(unit, submittedAt: submission.submittedAt, now: now)
            if stepper.isFinished(slot) {  // nothing to compute (a budget of zero tokens)
                finish(slot, outcome, cancelled: false, at: now)
                return nil
            }
            return Running(
                slot: slot, outcome: outcome, ticket: submission.ticket, deadline: submission.deadline,
                timeout: submission.timeout)
        } catch {
            fail(unit, outcome, error)
            return nil
        }
    }

    /// Ends a slot whose client cancelled or whose deadline passed; true when it did.
    private func retireIfInterrupted(_ running: Running, now: DispatchTime) -> Bool {
        if running.ticket.isCancelled {
            finish(running.slot, running.outcome, cancelled: true, at: now)
            return true
        }
        if let deadline = running.deadline, now >= deadline {
            timedOut(stepper.unit(of: running.slot), running.outcome, seconds: running.timeout)
            return true
        }
        return false
    }

    private func finish(_ slot: Stepper.Slot, _ outcome: Outcome, cancelled: Bool, at now: DispatchTime) {
        count { cancelled ? ($0.cancelled += 1) : ($0.completed += 1) }
        ended(outcome, cancelled: cancelled)  // counted before the client can see the result
        stepper.finish(slot, cancelled: cancelled, now: now)
    }

    private func fail(_ unit: Stepper.Unit, _ outcome: Outcome, _ error: Error) {
        count { $0.failed += 1 }
        outcome.failed = true
        ended(outcome, cancelled: false)
        stepper.fail(unit, error: error)
    }

    private func timedOut(_ unit: Stepper.Unit, _ outcome: Outcome, seconds: TimeInterval?) {
        if !outcome.timedOut { metrics?.recordTimeout(model: name) }
        outcome.timedOut = true
        fail(unit, outcome, ExecutorError.timedOut(seconds: seconds ?? 0))
    }

    /// One unit of a submission ended; the last one counts the request in `/metrics`
    /// (completed or cancelled; a failed request is counted where it failed).
    private func ended(_ outcome: Outcome, cancelled: Bool) {
        outcome.cancelled = outcome.cancelled || cancelled
        outcome.unended -= 1
        guard outcome.unended == 0, !outcome.failed else { return }
        metrics?.recordFinished(model: name, cancelled: outcome.cancelled)
    }

    private func noteStep(size: Int) {
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
