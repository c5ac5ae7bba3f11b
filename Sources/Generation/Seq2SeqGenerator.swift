import Foundation

/// Generates target sequences with an encoder-decoder model, as transformers'
/// `generate(input_ids, attention_mask, forced_bos_token_id=..., ...)` does for a
/// batch: one encoder pass over all sources, then batched decoder steps until
/// every output has ended (EOS or max_length).
///
/// `numBeams` 1 is greedy decoding or sampling (each sequence through the shared
/// `Sampler`, as the decoder-only generator does); more is beam search
/// (`BeamSearchState`). Each source is a `Seq2SeqSequence`, all stepped together by a
/// `Seq2SeqStepper`, so the outputs of a batch are those of its sources one at a time.
public final class Seq2SeqGenerator {
    public let model: Seq2SeqModel

    public init(model: Seq2SeqModel) {
        self.model = model
    }

    /// Generates one output per source, in order. Parameters are checked before
    /// any work. `shouldStop` is asked before every decoder step; when it says
    /// true the outputs so far come back with finish reason `.cancelled`.
    public func generate(
        sources: [[Int]], parameters: Seq2SeqParameters, shouldStop: (() -> Bool)? = nil
    ) throws -> Seq2SeqResult {
        try parameters.validate(vocabularySize: model.vocabularySize)
        let maxLength = try parameters.resolvedMaxLength(maxTargetPositions: model.maxTargetPositions)
        var timings = Seq2SeqTimings()
        guard !sources.isEmpty else { return Seq2SeqResult(outputs: [], timings: timings, seed: nil) }
        timings.sourceTokens = sources.reduce(0) { $0 + $1.count }

        let encodeStart = DispatchTime.now()
        let encoded = try model.encode(sources)
        timings.encodeMs = milliseconds(since: encodeStart)

        let decodeStart = DispatchTime.now()
        var seed: UInt64?
        if parameters.numBeams == 1 && !parameters.generation.isGreedy {
            seed = parameters.generation.seed ?? UInt64.random(in: 0...UInt64.max)
        }
        // Sequence i samples with seed + i.
        let sequences = encoded.enumerated().map { i, source in
            Seq2SeqSequence(
                source: source, parameters: parameters, maxLength: maxLength,
                seed: seed.map { $0 &+ UInt64(i) }, model: model)
        }
        let stepper = Seq2SeqStepper(model: model)
        while sequences.contains(where: { !$0.isFinished }) {
            if let shouldStop, shouldStop() {
                for sequence in sequences { sequence.cancel() }
                break
            }
            timings.decodedRows += try stepper.step(sequences)
            timings.decoderSteps += 1
        }
        let outputs = sequences.map(\.output)
        timings.decodeMs = milliseconds(since: decodeStart)
        timings.targetTokens = outputs.reduce(0) { $0 + $1.ids.count - 1 }
        return Seq2SeqResult(outputs: outputs, timings: timings, seed: seed)
    }
}
