import Foundation
import Synchronization
import Tokenizer

/// Generates one sequence at a time with a decoder-only model: prefill the
/// prompt, then one token per forward pass until EOS, a stop string, the budget
/// or the caller says stop. Tokens stream out through a callback or an
/// `AsyncThrowingStream`.
public final class TextGenerator {
    public let model: CausalLanguageModel
    public let tokenizer: Tokenizer
    private let logits: UnsafeMutablePointer<Float>

    public init(model: CausalLanguageModel, tokenizer: Tokenizer) {
        self.model = model
        self.tokenizer = tokenizer
        logits = .allocate(capacity: model.vocabularySize)
    }

    deinit { logits.deallocate() }

    /// Runs a generation to the end. `onStep` sees every token as it is chosen;
    /// returning false cancels (finish reason `cancelled`).
    public func generate(
        promptIDs: [Int], parameters: GenerationParameters,
        onStep: ((GenerationStep) -> Bool)? = nil
    ) throws -> GenerationResult {
        let sequence = try GenerationSequence(
            promptIDs: promptIDs, parameters: parameters, tokenizer: tokenizer,
            vocabularySize: model.vocabularySize, maxPositions: model.maxPositions)
        var timings = GenerationTimings()
        timings.promptTokens = promptIDs.count

        // The prompt as the model will see it: with keep-recent, only its newest tokens.
        let window = model.maxPositions
        var context = promptIDs
        if context.count > window {
            context.removeFirst(context.count - window / 2)
        }
        let cache = model.makeCache(capacity: min(window, context.count + sequence.maxNewTokens))
        var steps = [SequenceStep(cache: cache, tokens: context[...])]
        steps.reserveCapacity(1)

        if !sequence.isFinished {
            let start = DispatchTime.now()
            try model.forward(steps, logits: logits)
            timings.prefillMs = milliseconds(since: start)
        }
        let decodeStart = DispatchTime.now()
        var forwards = 0
        var lastTokenBuffer = [0]
        while !sequence.isFinished {
            let step = sequence.advance(logits: logits)
            if let onStep, !onStep(step) {
                sequence.cancel()
                break
            }
            if sequence.isFinished { break }
            if cache.remaining == 0 {
                // Only reachable with keep-recent: re-read the newest half of the window.
                let recent = sequence.history.tokens.suffix(window / 2)
                cache.reset()
                steps[0].tokens = recent
            } else {
                // The step lets go of its slice first: writing the buffer while the slice
                // shares it would copy it, one allocation per token.
                steps[0].tokens = []
                lastTokenBuffer[0] = step.token
                steps[0].tokens = lastTokenBuffer[...]
            }
            try model.forward(steps, logits: logits)
            forwards += 1
        }
        timings.decodeMs = milliseconds(since: decodeStart)
        timings.generatedTokens = sequence.generatedIDs.count
        timings.decodeTokensPerSecond = timings.decodeMs > 0 ? Double(forwards) / (timings.decodeMs / 1000) : 0
        return GenerationResult(
            promptIDs: promptIDs, generatedIDs: sequence.generatedIDs, text: sequence.text,
            finishReason: sequence.finishReason ?? .cancelled, stopString: sequence.stopString,
            seed: sequence.sampler.seed, timings: timings)
    }

    /// The same generation as an asynchronous sequence of steps, run on a
    /// background thread; cancelling the consuming task stops it.
    public func stream(promptIDs: [Int], parameters: GenerationParameters) -> AsyncThrowingStream<GenerationStep, Error>
    {
        AsyncThrowingStream { continuation in
            let cancelled = CancellationFlag()
            continuation.onTermination = { _ in cancelled.set() }
            // The stream owns this generator from here on: the caller hands it over, as it would
            // to `generate`, and does not use it again until the stream ends.
            nonisolated(unsafe) let generator = self
            Thread.detachNewThread {
                do {
                    _ = try generator.generate(promptIDs: promptIDs, parameters: parameters) { step in
                        continuation.yield(step)
                        return !cancelled.isSet
                    }
                    continuation.finish()
                } catch {
                    continuation.finish(throwing: error)
                }
            }
        }
    }
}

/// A flag set once from any thread.
public final class CancellationFlag: Sendable {
    private let value = Atomic(false)
    public init() {}
    public var isSet: Bool { value.load(ordering: .acquiring) }
    public func set() { value.store(true, ordering: .releasing) }
}

func milliseconds(since start: DispatchTime) -> Double {
    Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e6
}
