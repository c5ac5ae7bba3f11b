import Foundation
import Generation
import HTTPServer

/// An event of a submitted generation, tagged with the caller's choice index (so one
/// channel can carry several sequences: OpenAI's `n` and prompt arrays).
public enum GenerationEvent: Sendable {
    /// A token was chosen; `step.text` is the newly releasable text (often empty).
    case token(choice: Int, step: GenerationStep)
    /// The sequence ended (EOS, budget, stop string, or cancelled).
    case finished(choice: Int, outcome: GenerationOutcome)
    /// The sequence could not run or was cut off (invalid request, timeout, shutdown, model failure).
    case failed(choice: Int, error: Error)

    public var choice: Int {
        switch self {
        case .token(let choice, _), .finished(let choice, _), .failed(let choice, _): return choice
        }
    }

    /// True for the last event of a sequence.
    public var isTerminal: Bool {
        if case .token = self { return false }
        return true
    }
}

/// Carries events from an executor's thread to the thread serving the request.
///
/// The executor only appends (never blocks on a slow client); the consumer takes events
/// at its own pace with `next(timeout:)`. Unbounded, but bounded in practice by the
/// requests' token budgets.
///
/// Sendable by hand: every mutable field is read and written under `condition`.
public final class GenerationEventChannel: @unchecked Sendable {
    private let condition = NSCondition()
    private var events: [GenerationEvent] = []
    private var head = 0

    public init() {}

    func send(_ event: GenerationEvent) {
        condition.lock()
        events.append(event)
        condition.signal()
        condition.unlock()
    }

    /// The next event, waiting up to `timeout` seconds; nil when none came in time.
    public func next(timeout: TimeInterval) -> GenerationEvent? {
        let deadline = Date(timeIntervalSinceNow: timeout)
        condition.lock()
        defer { condition.unlock() }
        while head == events.count {
            if !condition.wait(until: deadline) { break }
        }
        guard head < events.count else { return nil }
        let event = events[head]
        head += 1
        if head == events.count {
            events.removeAll(keepingCapacity: true)
            head = 0
        }
        return event
    }
}
