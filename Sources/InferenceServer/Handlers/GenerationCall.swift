import Foundation
import Generation
import HTTPServer

/// One API request's sequences in an executor: submits them all (or none), cancels them
/// when the client goes away, and gathers their events.
///
/// Handlers and job workers use it the same way, so a job is just another client of
/// the executor.
///
/// Sendable by hand: its tickets are set on the handler's thread before any other thread sees the call.
final class GenerationCall: @unchecked Sendable {
    let service: GenerationService
    let count: Int
    private let channel = GenerationEventChannel()
    private var tickets: [GenerationTicket] = []

    /// Submits `requests` as choices 0..<count. If one cannot be queued, the ones already
    /// queued are cancelled and the error (queue full, shutting down) is thrown.
    init(service: GenerationService, requests: [GenerationRequest], cancelOn disconnect: DisconnectSignal? = nil) throws
    {
        self.service = service
        count = requests.count
        do {
            for (choice, request) in requests.enumerated() {
                tickets.append(try service.executor.submit(request, to: channel, choice: choice))
            }
        } catch {
            cancel()
            throw error
        }
        let tickets = self.tickets
        disconnect?.onDisconnect { for ticket in tickets { ticket.cancel() } }
    }

    /// Submits for an HTTP request: a full queue or a stopping executor is the HTTP error that
    /// says so (429 or 503 with Retry-After).
    static func forRequest(
        service: GenerationService, requests: [GenerationRequest],
        cancelOn disconnect: DisconnectSignal
    ) throws -> GenerationCall {
        do {
            return try GenerationCall(service: service, requests: requests, cancelOn: disconnect)
        } catch {
            throw APIErrors.httpError(for: error)
        }
    }

    func cancel() {
        for ticket in tickets { ticket.cancel() }
    }

    /// Delivers every event to `onEvent` until each choice has ended, and returns each
    /// choice's outcome. `onEvent` returning false cancels the rest (client gone).
    /// `isCancelled` is polled between events (job cancellation).
    func run(
        isCancelled: (() -> Bool)? = nil,
        onEvent: (GenerationEvent) -> Bool = { _ in true }
    ) -> [Result<GenerationOutcome, Error>] {
        var results = [Result<GenerationOutcome, Error>?](repeating: nil, count: count)
        var remaining = count
        var cancelled = false
        while remaining > 0 {
            if !cancelled, isCancelled?() == true {
                cancelled = true
                cancel()
            }
            guard let event = channel.next(timeout: 0.25) else { continue }
            if !cancelled, !onEvent(event) {
                cancelled = true
                cancel()
            }
            switch event {
            case .token: continue
            case .finished(let choice, let outcome): results[choice] = .success(outcome)
            case .failed(let choice, let error): results[choice] = .failure(error)
            }
            remaining -= 1
        }
        let final = results.map { $0 ?? .failure(ExecutorError.shuttingDown(model: service.name)) }
        noteInRequestLog(final)
        return final
    }

    /// The model and tokens on the request's log line. A prompt shared by consecutive
    /// choices (`n`) counts once, as in OpenAI's usage.
    private func noteInRequestLog(_ results: [Result<GenerationOutcome, Error>]) {
        guard let record = RequestLogRecord.current else { return }
        record.model = service.name
        var prompt = 0
        var generated = 0
        var previous: [Int]?
        for case .success(let outcome) in results {
            if outcome.promptIDs != previous { prompt += outcome.promptIDs.count }
            previous = outcome.promptIDs
            generated += outcome.generatedIDs.count
        }
        record.tokens(prompt: prompt, generated: generated)
    }

    /// The outcomes, or the first failure as an HTTP error.
    static func outcomes(_ results: [Result<GenerationOutcome, Error>]) throws -> [GenerationOutcome] {
        try results.map { result in
            switch result {
            case .success(let outcome): return outcome
            case .failure(let error): throw APIErrors.httpError(for: error)
            }
        }
    }
}

/// One translation request in a service's executor: cut into sentences and tokenized on
/// the caller's thread, each sentence submitted as a slot, the texts put back together on
/// the caller's thread once every sentence is done. Cancelling stops this request's
/// sentences only.
final class TranslationCall: Sendable {
    let service: TranslationService
    private let prepared: PreparedTranslation
    private let collector: TranslationCollector
    private let ticket: ExecutorTicket?

    /// Prepares and submits `request`. - Throws: the backend's refusal (unknown language,
    /// bad options), `ExecutorError.queueFull` or `.shuttingDown`.
    init(
        _ request: TranslationRequest, on service: TranslationService, timeout: TimeInterval?,
        cancelOn disconnect: DisconnectSignal? = nil
    ) throws {
        self.service = service
        prepared = try service.backend.prepare(request)
        collector = TranslationCollector(count: prepared.sources.count)
        guard !prepared.sources.isEmpty else {
            ticket = nil
            return
        }
        let ticket = try service.executor.submit(prepared, to: collector, timeout: timeout)
        self.ticket = ticket
        disconnect?.onDisconnect { ticket.cancel() }
    }

    func cancel() {
        ticket?.cancel()
    }

    /// The translation, or its failure; nil when `timeout` passed first.
    func wait(timeout: TimeInterval) -> Result<TranslationResult, Error>? {
        guard let outputs = collector.wait(timeout: timeout) else { return nil }
        let prepared = self.prepared
        let backend = service.backend
        return outputs.flatMap { outputs in Result { try backend.assemble(prepared, outputs: outputs) } }
    }

    /// Runs `request` and waits for it; every failure is the HTTP error that says so.
    static func run(
        _ request: TranslationRequest, on service: TranslationService, timeout: TimeInterval,
        cancelOn disconnect: DisconnectSignal? = nil
    ) throws -> TranslationResult {
        let call: TranslationCall
        do {
            call = try TranslationCall(request, on: service, timeout: timeout, cancelOn: disconnect)
        } catch {
            throw APIErrors.httpError(for: error)
        }
        guard let outcome = call.wait(timeout: timeout) else {
            call.cancel()
            throw APIErrors.httpError(for: ExecutorError.timedOut(seconds: timeout))
        }
        RequestLogRecord.current?.model = service.name
        switch outcome {
        case .success(let result):
            RequestLogRecord.current?.tokens(prompt: result.promptTokens, generated: result.generatedTokens)
            return result
        case .failure(let error): throw APIErrors.httpError(for: error)
        }
    }
}
