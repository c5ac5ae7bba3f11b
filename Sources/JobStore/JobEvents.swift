import Foundation
import HTTPServer

/// A progress event of one job, as streamed to SSE clients.
///
/// A stream is: `queued`, `started`, any number of `token`s (or, for a story, `paragraph`s), then
/// exactly one final event
/// (`done`, `failed` or `cancelled`). A `queued` after `started` means the job was put back in
/// the queue (server stopping); a later `started` means generation starts over, so a client
/// must clear the text it has shown.
public enum JobEvent: Sendable, Equatable {
    case queued
    case started(attempt: Int)
    /// Newly generated text, to append to what came before.
    case token(String)
    /// One finished paragraph of a story job (JSON: index, text, translation).
    case paragraph(Data)
    case done(result: Data)
    case failed(message: String)
    case cancelled

    /// True for `done`, `failed` and `cancelled`: nothing follows.
    public var isFinal: Bool {
        switch self {
        case .done, .failed, .cancelled: return true
        case .queued, .started, .token, .paragraph: return false
        }
    }

    /// The SSE `event:` name.
    public var name: String {
        switch self {
        case .queued: return "queued"
        case .started: return "started"
        case .token: return "token"
        case .paragraph: return "paragraph"
        case .done: return "done"
        case .failed: return "failed"
        case .cancelled: return "cancelled"
        }
    }
}

/// One subscriber's view of a job's events: the job's current state first, then live events
/// until the final one.
///
/// Consume it from a thread with `next(timeout:)` (an SSE connection thread can send keep-alive
/// comments on `.timedOut`) or from a task with `for await event in subscription`. Use one
/// consumer per subscription. Call `cancel()` when the client disconnects; dropping the last
/// reference does the same, so an abandoned subscription cannot leak.
///
/// Memory per subscriber is bounded by the job's output: consecutive `token` events that the
/// consumer has not taken yet are merged into one, so a slow client receives fewer, larger
/// deltas instead of an ever-growing backlog.
public final class JobSubscription: AsyncSequence, Sendable {
    public typealias Element = JobEvent

    public enum WaitResult: Sendable, Equatable {
        case event(JobEvent)
        /// Nothing happened within the timeout; the subscription is still live.
        case timedOut
        /// The final event was delivered already, or the subscription was cancelled, or the
        /// store closed (server shutdown: the client should reconnect later).
        case ended
    }

    public let jobID: JobID
    let buffer: EventBuffer
    private let onCancel: (@Sendable () -> Void)?

    convenience init(jobID: JobID, buffer: EventBuffer, hub: JobEventHub?, token: UInt64) {
        var unsubscribe: (@Sendable () -> Void)?
        if let hub { unsubscribe = { [weak hub] in hub?.unsubscribe(jobID, token: token) } }
        self.init(jobID: jobID, buffer: buffer, onCancel: unsubscribe)
    }

    /// `onCancel` releases whatever feeds `buffer` (a hub registration, a follower thread).
    init(jobID: JobID, buffer: EventBuffer, onCancel: (@Sendable () -> Void)?) {
        self.jobID = jobID
        self.buffer = buffer
        self.onCancel = onCancel
    }

    deinit { cancel() }

    /// Blocks the calling thread until the next event, the end of the stream, or the timeout.
    public func next(timeout: TimeInterval) -> WaitResult {
        buffer.next(timeout: timeout)
    }

    /// The next event, or nil when the stream has ended or the calling task is cancelled.
    public func next() async -> JobEvent? {
        await buffer.next()
    }

    /// Stops delivery, drops undelivered events and releases the subscription. Safe to call
    /// more than once.
    public func cancel() {
        onCancel?()
        buffer.end(discardingPending: true)
    }

    public struct AsyncIterator: AsyncIteratorProtocol {
        let subscription: JobSubscription
        public mutating func next() async -> JobEvent? { await subscription.next() }
    }

    public func makeAsyncIterator() -> AsyncIterator { AsyncIterator(subscription: self) }
}

/// The queue of events waiting for one subscriber.
///
/// Sendable by hand: every mutable field is read and written under `condition`.
final class EventBuffer: @unchecked Sendable {
    private let condition = NSCondition()
    private var pending: [JobEvent] = []
    /// No more events will be pushed; the consumer still drains `pending`.
    private var ended = false
    private var asyncWaiter: CheckedContinuation<JobEvent?, Never>?

    init(replay: [JobEvent]) {
        pending = replay
        ended = replay.last?.isFinal ?? false
    }

    func push(_ event: JobEvent) {
        condition.lock()
        guard !ended else {
            condition.unlock()
            return
        }
        if case .token(let delta) = event, case .token(let earlier)? = pending.last {
            pending[pending.count - 1] = .token(earlier + delta)
        } else {
            pending.append(event)
        }
        if event.isFinal { ended = true }
        let waiter = takeAsyncWaiterLocked()
        condition.broadcast()
        condition.unlock()
        waiter?.continuation.resume(returning: waiter?.event)
    }

    /// True once the final event was pushed or the stream was ended (cancelled, store closed).
    var isEnded: Bool {
        condition.lock()
        defer { condition.unlock() }
        return ended
    }

    /// Ends the stream, after what is already pending unless `discardingPending`.
    func end(discardingPending: Bool = false) {
        condition.lock()
        ended = true
        if discardingPending { pending.removeAll() }
        let waiter = takeAsyncWaiterLocked()
        condition.broadcast()
        condition.unlock()
        waiter?.continuation.resume(returning: waiter?.event)
    }

    func next(timeout: TimeInterval) -> JobSubscription.WaitResult {
        let deadline = Date(timeIntervalSinceNow: max(0, timeout))
        condition.lock()
        defer { condition.unlock() }
        while true {
            if !pending.isEmpty { return .event(pending.removeFirst()) }
            if ended { return .ended }
            if !condition.wait(until: deadline) {
                if !pending.isEmpty { return .event(pending.removeFirst()) }
                return ended ? .ended : .timedOut
            }
        }
    }

    func next() async -> JobEvent? {
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<JobEvent?, Never>) in
                condition.lock()
                if !pending.isEmpty {
                    let event = pending.removeFirst()
                    condition.unlock()
                    continuation.resume(returning: event)
                } else if ended || Task.isCancelled {
                    condition.unlock()
                    continuation.resume(returning: nil)
                } else {
                    asyncWaiter = continuation
                    condition.unlock()
                }
            }
        } onCancel: {
            // The task's cancel flag is set before this runs, so a waiter installed after this
            // point is impossible: the check above sees Task.isCancelled.
            condition.lock()
            let waiter = asyncWaiter
            asyncWaiter = nil
            condition.unlock()
            waiter?.resume(returning: nil)
        }
    }

    /// The parked async consumer and what to hand it (the next event, or nil at the end).
    private func takeAsyncWaiterLocked() -> (continuation: CheckedContinuation<JobEvent?, Never>, event: JobEvent?)? {
        guard let waiter = asyncWaiter else { return nil }
        if !pending.isEmpty {
            asyncWaiter = nil
            return (waiter, pending.removeFirst())
        }
        if ended {
            asyncWaiter = nil
            return (waiter, nil)
        }
        return nil
    }
}

/// In-memory fan-out of job events to subscribers, plus the text generated so far by each
/// running job.
///
/// `JobStore` calls the state-change methods while holding its own lock, right after the
/// change commits, and `subscribe` under the same lock: so a new subscriber's snapshot and its
/// registration happen between two state changes and it never misses or repeats one. Tokens do
/// not touch the store lock (they are not persisted); the hub's lock alone orders them against
/// registration.
///
/// Sendable by hand: every mutable field is read and written under `lock`.
final class JobEventHub: @unchecked Sendable {
    private let lock = NSLock()
    private var subscribers: [JobID: [UInt64: EventBuffer]] = [:]
    /// Text of running jobs, tagged with the lease so a worker whose lease was taken away
    /// cannot append to the next run's text.
    private var running: [JobID: (lease: UInt64, text: String, paragraphs: [Data])] = [:]
    private var nextToken: UInt64 = 0
    private var isClosed = false

    /// Registers a subscriber and seeds it with `job`'s current state (the store's snapshot).
    func subscribe(to job: Job) -> JobSubscription {
        lock.lock()
        defer { lock.unlock() }
        var replay: [JobEvent]
        switch job.status {
        case .queued: replay = [.queued]
        case .running:
            replay = [.started(attempt: job.attempts)]
            if let state = running[job.id] {
                replay += state.paragraphs.map(JobEvent.paragraph)
                if !state.text.isEmpty { replay.append(.token(state.text)) }
            }
        case .succeeded: replay = [.done(result: job.result ?? Data())]
        case .failed: replay = [.failed(message: job.errorMessage ?? "failed")]
        case .cancelled: replay = [.cancelled]
        }
        let buffer = EventBuffer(replay: replay)
        if isClosed { buffer.end() }
        // A finished job's subscription is complete already and needs no registration.
        guard !job.status.isFinished, !isClosed else {
            return JobSubscription(jobID: job.id, buffer: buffer, hub: nil, token: 0)
        }
        nextToken += 1
        subscribers[job.id, default: [:]][nextToken] = buffer
        return JobSubscription(jobID: job.id, buffer: buffer, hub: self, token: nextToken)
    }

    func unsubscribe(_ id: JobID, token: UInt64) {
        lock.lock()
        defer { lock.unlock() }
        subscribers[id]?[token] = nil
        if subscribers[id]?.isEmpty == true { subscribers[id] = nil }
    }

    /// The job was (re-)queued.
    func queued(_ id: JobID) {
        lock.lock()
        defer { lock.unlock() }
        running[id] = nil
        deliverLocked(.queued, to: id)
    }

    /// A worker started the job under `lease`: generation starts from empty text.
    func started(_ id: JobID, attempt: Int, lease: UInt64) {
        lock.lock()
        defer { lock.unlock() }
        running[id] = (lease, "", [])
        deliverLocked(.started(attempt: attempt), to: id)
    }

    /// Appends generated text. Returns false (and drops the text) when `lease` no longer owns
    /// the job.
    @discardableResult
    func appendText(_ id: JobID, lease: UInt64, _ delta: String) -> Bool {
        lock.lock()
        defer { lock.unlock() }
        guard var state = running[id], state.lease == lease else { return false }
        guard !delta.isEmpty else { return true }
        // Drop the entry while appending so the string is uniquely referenced and grows in place.
        running[id] = nil
        state.text += delta
        running[id] = state
        deliverLocked(.token(delta), to: id)
        return true
    }

    /// Adds a story paragraph (kept for late subscribers). Returns false (and drops it) when
    /// `lease` no longer owns the job.
    @discardableResult
    func appendParagraph(_ id: JobID, lease: UInt64, _ json: Data) -> Bool {
        lock.lock()
        defer { lock.unlock() }
        guard running[id]?.lease == lease else { return false }
        running[id]?.paragraphs.append(json)
        deliverLocked(.paragraph(json), to: id)
        return true
    }

    /// The job reached a final state: deliver the final event and forget its subscribers.
    func finished(_ id: JobID, _ event: JobEvent) {
        precondition(event.isFinal)
        lock.lock()
        running[id] = nil
        let buffers = subscribers.removeValue(forKey: id)
        lock.unlock()
        if let buffers {
            for buffer in buffers.values { buffer.push(event) }
        }
    }

    /// The text generated so far by the job's current run (or by `lease`'s run, if given).
    func text(of id: JobID, lease: UInt64? = nil) -> String? {
        lock.lock()
        defer { lock.unlock() }
        guard let state = running[id], lease == nil || state.lease == lease else { return nil }
        return state.text
    }

    /// Ends every subscription (store closing) without a final event: the job is not finished,
    /// the server is going away.
    func closeAll() {
        lock.lock()
        isClosed = true
        let all = subscribers.values.flatMap { $0.values }
        subscribers.removeAll()
        running.removeAll()
        lock.unlock()
        for buffer in all { buffer.end() }
    }

    /// Live subscriptions, for leak tests.
    var subscriberCount: Int {
        lock.lock()
        defer { lock.unlock() }
        return subscribers.values.reduce(0) { $0 + $1.count }
    }

    private func deliverLocked(_ event: JobEvent, to id: JobID) {
        guard let buffers = subscribers[id] else { return }
        for buffer in buffers.values { buffer.push(event) }
    }
}
