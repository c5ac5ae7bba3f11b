import Foundation
import Generation
import HTTPServer

/// Translation on the executor skeleton: every slot is one sentence (its beams are rows of
/// the step), and a step is ONE decoder step over every running sentence, so a request that
/// arrives joins the batch at the next step and a cancelled request stops its own sentences
/// only. A sentence's output does not depend on its company: it is encoded alone and
/// decoded with its own caches, sampler or beam search. With a draft, a greedy sentence's step
/// is its last token and the draft's guesses, rows of the same decoder step, and its output is
/// still the one it gives alone without a draft.
public typealias TranslationExecutor = ModelExecutor<TranslationStepper>

extension ModelExecutor where Stepper == TranslationStepper {
    /// Starts the executor's thread, which drives `backend.model` from then on. With `draft`,
    /// greedy one-beam sentences decode speculatively.
    public convenience init(
        name: String, backend: TranslationBackend, configuration: Configuration = Configuration(),
        metrics: ServerMetrics? = nil, draft: GenerationDraft? = nil
    ) {
        self.init(
            name: name,
            stepper: TranslationStepper(name: name, model: backend.model, metrics: metrics, draft: draft),
            configuration: configuration, metrics: metrics)
    }

    /// Queues every sentence of `prepared`; their outputs go to `collector`.
    /// - Throws: `ExecutorError.queueFull` or `.shuttingDown`, before anything is queued.
    func submit(
        _ prepared: PreparedTranslation, to collector: TranslationCollector,
        timeout: TimeInterval?
    ) throws -> ExecutorTicket {
        let shared = TranslationUnit.Shared(
            parameters: prepared.parameters, maxLength: prepared.maxLength,
            seed: prepared.seed, collector: collector)
        let units = prepared.sources.enumerated().map { TranslationUnit(source: $1, index: $0, shared: shared) }
        return try submit(units, timeout: timeout)
    }
}

/// One sentence waiting for a slot.
public struct TranslationUnit {
    /// What every sentence of one request shares.
    final class Shared {
        let parameters: Seq2SeqParameters
        let maxLength: Int
        let seed: UInt64?
        let collector: TranslationCollector

        init(parameters: Seq2SeqParameters, maxLength: Int, seed: UInt64?, collector: TranslationCollector) {
            self.parameters = parameters
            self.maxLength = maxLength
            self.seed = seed
            self.collector = collector
        }
    }

    let source: [Int]
    /// The sentence's place in its request.
    let index: Int
    let shared: Shared
}

/// A sentence in the running batch.
public final class TranslationSlot {
    let unit: TranslationUnit
    let sequence: Seq2SeqSequence
    /// The sentence's draft, when it decodes speculatively (back to the stepper's idle ones after).
    let draft: SpeculativeDraft?

    init(unit: TranslationUnit, sequence: Seq2SeqSequence, draft: SpeculativeDraft?) {
        self.unit = unit
        self.sequence = sequence
        self.draft = draft
    }
}

/// Encodes each admitted sentence and runs one batched decoder step (`Seq2SeqStepper`)
/// over every running one; a finished sentence's output goes to its request's collector.
public final class TranslationStepper: BatchStepper {
    public static let threadLabel = "translation"
    private let name: String
    private let model: Seq2SeqModel
    private let metrics: ServerMetrics?
    private let stepper: Seq2SeqStepper
    private var sequences: [Seq2SeqSequence] = []
    private let draft: GenerationDraft?
    /// Drafts of finished sentences, kept for the next ones (a model draft's buffers are large).
    private var idleDrafts: [SpeculativeDraft] = []

    init(name: String, model: Seq2SeqModel, metrics: ServerMetrics?, draft: GenerationDraft?) {
        self.name = name
        self.model = model
        self.metrics = metrics
        self.draft = draft
        stepper = Seq2SeqStepper(model: model)
    }

    public func admit(_ unit: TranslationUnit, submittedAt: DispatchTime, now: DispatchTime) throws -> TranslationSlot {
        // Alone, so that the encoder's rows never depend on which sentences arrived with it.
        let source = try model.encode([unit.source])[0]
        let shared = unit.shared
        let sequence = Seq2SeqSequence(
            source: source, parameters: shared.parameters, maxLength: shared.maxLength,
            seed: shared.seed.map { $0 &+ UInt64(unit.index) }, model: model)
        var sentenceDraft: SpeculativeDraft?
        if let draft, shared.parameters.numBeams == 1, shared.parameters.generation.isGreedy {
            let chosen = idleDrafts.popLast() ?? draft.makeDraft()
            do {
                try sequence.speculate(with: chosen, draftTokens: draft.draftTokens, sourceTokens: unit.source)
            } catch {
                idleDrafts.append(chosen)
                throw error
            }
            sentenceDraft = chosen
        }
        metrics?.recordAdmission(model: name, promptTokens: unit.source.count)
        return TranslationSlot(unit: unit, sequence: sequence, draft: sentenceDraft)
    }

    public func step(_ slots: [TranslationSlot]) throws {
        for slot in slots { sequences.append(slot.sequence) }
        defer { sequences.removeAll(keepingCapacity: true) }
        try stepper.step(sequences)
    }

    public func isFinished(_ slot: TranslationSlot) -> Bool { slot.sequence.isFinished }

    public func finish(_ slot: TranslationSlot, cancelled: Bool, now: DispatchTime) {
        if cancelled { slot.sequence.cancel() }
        if let draft = slot.draft { idleDrafts.append(draft) }
        let output = slot.sequence.output
        metrics?.recordGeneratedTokens(model: name, count: output.ids.count - 1)
        slot.unit.shared.collector.deliver(output, index: slot.unit.index)
    }

    public func fail(_ unit: TranslationUnit, error: Error) {
        unit.shared.collector.fail(error)
    }

    public func cancelBeforeAdmission(_ unit: TranslationUnit) {
        let start = unit.shared.parameters.decoderStartTokenID
        unit.shared.collector.deliver(
            Seq2SeqOutput(ids: [start], finishReason: .cancelled, score: nil), index: unit.index)
    }

    public func unit(of slot: TranslationSlot) -> TranslationUnit { slot.unit }
}

/// Gathers the outputs of one request's sentences as the executor finishes them, in any
/// order; the request's thread waits for all of them (or the first failure).
///
/// Sendable by hand: every mutable field is read and written under `condition`.
final class TranslationCollector: @unchecked Sendable {
    private let condition = NSCondition()
    private var outputs: [Seq2SeqOutput?]
    private var missing: Int
    private var failure: Error?

    init(count: Int) {
        outputs = Array(repeating: nil, count: count)
        missing = count
    }

    func deliver(_ output: Seq2SeqOutput, index: Int) {
        condition.lock()
        if outputs[index] == nil {
            outputs[index] = output
            missing -= 1
        }
        condition.broadcast()
        condition.unlock()
    }

    func fail(_ error: Error) {
        condition.lock()
        if failure == nil { failure = error }
        condition.broadcast()
        condition.unlock()
    }

    /// Every output in sentence order, or the first failure; nil when `timeout` passed first.
    func wait(timeout: TimeInterval) -> Result<[Seq2SeqOutput], Error>? {
        let deadline = Date(timeIntervalSinceNow: timeout)
        condition.lock()
        defer { condition.unlock() }
        while missing > 0 && failure == nil {
            if !condition.wait(until: deadline) { break }
        }
        if let failure { return .failure(failure) }
        guard missing == 0 else { return nil }
        return .success(outputs.map { $0! })
    }
}
