import Foundation

/// Generates target sequences with an encoder-decoder model, as transformers'
/// `generate(input_ids, attention_mask, forced_bos_token_id=..., ...)` does for a
/// batch: one encoder pass over all sources, then batched decoder steps until
/// every output has ended (EOS or max_length).
///
/// `numBeams` 1 is greedy decoding or sampling (each sequence through the shared
/// `Sampler`, as the decoder-only generator does); more is beam search
/// (`BeamSearch`). The outputs of a batch are those of its sources one at a time.
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
        let outputs: [Seq2SeqOutput]
        var seed: UInt64?
        if parameters.numBeams > 1 {
            outputs = try BeamSearch(model: model, parameters: parameters, maxLength: maxLength)
                .run(encoded, timings: &timings, shouldStop: shouldStop)
        } else {
            if !parameters.generation.isGreedy { seed = parameters.generation.seed ?? UInt64.random(in: 0...UInt64.max) }
            outputs = try decodeOneSequenceEach(encoded, parameters: parameters, maxLength: maxLength, seed: seed,
                                                timings: &timings, shouldStop: shouldStop)
        }
        timings.decodeMs = milliseconds(since: decodeStart)
        timings.targetTokens = outputs.reduce(0) { $0 + $1.ids.count - 1 }
        return Seq2SeqResult(outputs: outputs, timings: timings, seed: seed)
    }

    /// Greedy decoding or sampling (transformers' `_sample`): the processors run on
    /// the raw logits, then argmax or a draw. Sequence i samples with seed + i.
    private func decodeOneSequenceEach(
        _ sources: [EncodedSource], parameters: Seq2SeqParameters, maxLength: Int, seed: UInt64?,
        timings: inout Seq2SeqTimings, shouldStop: (() -> Bool)?
    ) throws -> [Seq2SeqOutput] {
        let v = model.vocabularySize
        let eos = parameters.generation.eosTokenIDs
        let samplers = sources.indices.map { i -> Sampler in
            var own = parameters.generation
            own.seed = seed.map { $0 &+ UInt64(i) }
            return Sampler(vocabularySize: v, parameters: own)
        }
        let histories = sources.map { _ in
            TokenHistory(prompt: [parameters.decoderStartTokenID], vocabularySize: v, reserve: maxLength)
        }
        var caches = sources.map { [model.makeTargetCache(capacity: TargetCacheGrowth.initialCapacity(source: $0, maxLength: maxLength))] }
        var finishReasons = [FinishReason?](repeating: nil, count: sources.count)
        let logits = UnsafeMutablePointer<Float>.allocate(capacity: max(1, sources.count * v))
        defer { logits.deallocate() }
        var steps: [Seq2SeqStep] = []
        steps.reserveCapacity(sources.count)
        var live = Array(sources.indices)

        while !live.isEmpty {
            if let shouldStop, shouldStop() {
                for i in live { finishReasons[i] = .cancelled }
                break
            }
            // ForcedBOSTokenLogitsProcessor leaves one possible token: no logits needed.
            let forced = histories[live[0]].tokens.count == 1 ? parameters.forcedBOSTokenID : nil
            steps.removeAll(keepingCapacity: true)
            for i in live {
                TargetCacheGrowth.growIfFull(&caches[i], model: model, maxLength: maxLength)
                steps.append(Seq2SeqStep(target: caches[i][0], source: sources[i], token: histories[i].tokens.last!))
            }
            try model.decode(steps, logits: forced == nil ? logits : nil, vocabulary: parameters.outputVocabulary)
            timings.decoderSteps += 1
            timings.decodedRows += steps.count
            for (row, i) in live.enumerated() {
                let token = forced ?? samplers[i].choose(logits + row * v, history: histories[i])
                histories[i].append(token)
                if eos.contains(token) {
                    finishReasons[i] = .eos
                } else if histories[i].tokens.count >= maxLength {
                    finishReasons[i] = .length
                }
            }
            live.removeAll { finishReasons[$0] != nil }
        }
        return sources.indices.map { Seq2SeqOutput(ids: histories[$0].tokens, finishReason: finishReasons[$0] ?? .cancelled, score: nil) }
    }
}
