import Foundation
import HTTPServer

/// Runs one translation model on one dedicated thread, batching the requests that arrive
/// together: while the backend works on one batch, new requests queue up, and the next
/// backend call takes all of them (up to `maxBatch`) at once.
public final class TranslationExecutor: @unchecked Sendable {
    public struct Configuration: Sendable {
        /// Requests per backend call.
        public var maxBatch: Int = 8
        /// Requests allowed to wait.
        public var maxQueue: Int = 64
        public var retryAfterSeconds: Int = 1

        public init(maxBatch: Int = 8, maxQueue: Int = 64, retryAfterSeconds: Int = 1) {
            self.maxBatch = max(1, maxBatch)
            self.maxQueue = max(0, maxQueue)
            self.retryAfterSeconds = max(1, retryAfterSeconds)
        }
    }

    /// The caller's view of one submitted request.
    public final class Ticket: @unchecked Sendable {
        private let condition = NSCondition()
        private var outcome: Result<TranslationResult, Error>?
        private var cancelled = false

        /// Blocks until the translation is done or `timeout` passes (nil then).
        public func wait(timeout: TimeInterval) -> Result<TranslationResult, Error>? {
            let deadline = Date(timeIntervalSinceNow: timeout)
            condition.lock()
            defer { condition.unlock() }
            while outcome == nil {
                if !condition.wait(until: deadline) { break }
            }
            return outcome
        }

        /// Drops the request if it has not started; a running batch is not interrupted.
        public func cancel() {
            condition.lock()
            cancelled = true
            condition.unlock()
        }

        var isCancelled: Bool {
            condition.lock()
            defer { condition.unlock() }
            return cancelled
        }

        func complete(_ result: Result<TranslationResult, Error>) {
            condition.lock()
            if outcome == nil { outcome = result }
            condition.broadcast()
            condition.unlock()
        }
    }

    private struct Pending {
        let request: TranslationRequest
        let ticket: Ticket
    }

    public let name: String
    public let backend: TranslationBackend
    public let configuration: Configuration
    private let metrics: ServerMetrics?
    private let condition = NSCondition()
    private var queue: [Pending] = []
    private var accepting = true
    private var stopNow = false
    private var calls = 0
    private var largest = 0
    private let exited = DispatchSemaphore(value: 0)

    public init(name: String, backend: TranslationBackend, configuration: Configuration = Configuration(),
                metrics: ServerMetrics? = nil) {
        self.name = name
        self.backend = backend
        self.configuration = configuration
        self.metrics = metrics
        metrics?.register(model: name)  // every loaded model has its series from the start
        let thread = Thread { [self] in
            run()
            exited.signal()
        }
        thread.name = "translation.\(name)"
        thread.start()
    }

    /// Queues `request`. - Throws: `ExecutorError.queueFull` or `.shuttingDown`.
    public func submit(_ request: TranslationRequest) throws -> Ticket {
        condition.lock()
        defer { condition.unlock() }
        guard accepting else { throw ExecutorError.shuttingDown(model: name) }
        guard queue.count < configuration.maxQueue + configuration.maxBatch else {
            throw ExecutorError.queueFull(model: name, capacity: configuration.maxQueue,
                                          retryAfterSeconds: configuration.retryAfterSeconds)
        }
        let ticket = Ticket()
        queue.append(Pending(request: request, ticket: ticket))
        condition.signal()
        return ticket
    }

    /// Backend calls made so far and the most requests one of them carried (for tests).
    public var batchStatistics: (calls: Int, largestBatch: Int) {
        condition.lock()
        defer { condition.unlock() }
        return (calls, largest)
    }

    /// Refuses new work, lets queued requests run for up to `gracePeriod`, then fails the
    /// rest with `ExecutorError.shuttingDown`. Idempotent.
    public func shutdown(gracePeriod: TimeInterval) {
        condition.lock()
        let first = accepting
        accepting = false
        condition.broadcast()
        condition.unlock()
        guard first else { return }
        if exited.wait(timeout: .now() + max(0, gracePeriod)) != .success {
            condition.lock()
            stopNow = true
            condition.broadcast()
            condition.unlock()
            // A backend call in progress cannot be interrupted; it is the last one.
            exited.wait()
        }
        exited.signal()
    }

    private func run() {
        while true {
            condition.lock()
            while queue.isEmpty && accepting { condition.wait() }
            if stopNow || queue.isEmpty {
                let abandoned = queue
                queue.removeAll()
                condition.unlock()
                for pending in abandoned { pending.ticket.complete(.failure(ExecutorError.shuttingDown(model: name))) }
                return
            }
            var batch: [Pending] = []
            while batch.count < configuration.maxBatch, !queue.isEmpty {
                let pending = queue.removeFirst()
                if !pending.ticket.isCancelled { batch.append(pending) }
            }
            let depth = queue.count
            if !batch.isEmpty {
                calls += 1
                largest = max(largest, batch.count)
            }
            condition.unlock()
            metrics?.recordQueue(model: name, depth: depth, active: batch.count)
            guard !batch.isEmpty else { continue }
            metrics?.recordBatch(model: name, size: batch.count)

            let results: Result<[TranslationResult], Error> = Result { try backend.translate(batch: batch.map(\.request)) }
            switch results {
            case .success(let translations):
                for (index, pending) in batch.enumerated() {
                    guard index < translations.count, translations[index].texts.count == pending.request.texts.count else {
                        pending.ticket.complete(.failure(ExecutorError.backendContract(
                            model: name, reason: "expected \(batch.count) results with one text per input, got \(translations.count) results")))
                        continue
                    }
                    metrics?.recordTranslation(model: name, promptTokens: translations[index].promptTokens,
                                               generatedTokens: translations[index].generatedTokens)
                    pending.ticket.complete(.success(translations[index]))
                }
            case .failure(let error):
                for pending in batch { pending.ticket.complete(.failure(error)) }
            }
            metrics?.recordQueue(model: name, depth: self.queueDepth, active: 0)
        }
    }

    public var queueDepth: Int {
        condition.lock()
        defer { condition.unlock() }
        return queue.count
    }
}
