import Kernels
import Tensor

/// Beam search over several sources at once, with transformers 4.57.1's semantics
/// (see `BeamSearchState`): every running beam of every unfinished input goes
/// through one batched decoder step; each input stops on its own.
struct BeamSearch {
    let model: Seq2SeqModel
    let parameters: Seq2SeqParameters
    /// transformers' max_length, decoder start included.
    let maxLength: Int

    func run(_ sources: [EncodedSource], timings: inout Seq2SeqTimings, shouldStop: (() -> Bool)?) throws -> [Seq2SeqOutput] {
        let beams = parameters.numBeams, v = model.vocabularySize
        let states = sources.map { _ in
            BeamSearchState(
                numBeams: beams, vocabularySize: v, maxLength: maxLength,
                decoderStartTokenID: parameters.decoderStartTokenID, lengthPenalty: parameters.lengthPenalty,
                earlyStopping: parameters.earlyStopping, eosTokenIDs: parameters.generation.eosTokenIDs,
                forcedBOSTokenID: parameters.forcedBOSTokenID, repetitionPenalty: parameters.generation.repetitionPenalty,
                noRepeatNgramSize: parameters.generation.noRepeatNgramSize, outputTokens: parameters.outputVocabulary?.tokens)
        }
        var caches = sources.map { source in
            (0..<beams).map { _ in model.makeTargetCache(capacity: TargetCacheGrowth.initialCapacity(source: source, maxLength: maxLength)) }
        }
        // Everything the loop needs, allocated once.
        let logits = UnsafeMutablePointer<Float>.allocate(capacity: max(1, sources.count * beams * v))
        defer { logits.deallocate() }
        var steps: [Seq2SeqStep] = []
        steps.reserveCapacity(sources.count * beams)
        var reorders = sources.map { _ in BeamCacheReorder(beams: beams) }
        var live = Array(sources.indices)
        var cancelled = false

        while !live.isEmpty {
            if let shouldStop, shouldStop() {
                cancelled = true
                break
            }
            // Inputs advance in lockstep, so they agree on whether this step is forced.
            let forced = states[live[0]].isForcedStep
            steps.removeAll(keepingCapacity: true)
            for i in live {
                TargetCacheGrowth.growIfFull(&caches[i], model: model, maxLength: maxLength)
                for b in 0..<beams {
                    steps.append(Seq2SeqStep(target: caches[i][b], source: sources[i], token: states[i].lastToken(beam: b)))
                }
            }
            try model.decode(steps, logits: forced ? nil : logits, vocabulary: parameters.outputVocabulary)
            timings.decoderSteps += 1
            timings.decodedRows += steps.count
            advance(states, live: live, logits: logits, caches: &caches, reorders: &reorders)
            live.removeAll { states[$0].isDone }
        }
        return states.map { $0.best(cancelled: cancelled && !$0.isDone) }
    }

    /// Every live input's step after the decoder's: log-softmax and the processors row by
    /// row, then each input's choice and cache reorder. Inputs share nothing (each has its
    /// state, caches and reorder scratch) and rows share nothing without a repetition
    /// penalty, so both run on the compute pool: on one core, log-softmax over 64 rows of
    /// 256k tokens, the candidate scans and the cache copies were a tenth of an NLLB
    /// batch-16 beam-4 step while the other core waited.
    private func advance(
        _ states: [BeamSearchState], live: [Int], logits: UnsafeMutablePointer<Float>,
        caches: inout [[KVCache]], reorders: inout [BeamCacheReorder]
    ) {
        let beams = parameters.numBeams, v = model.vocabularySize, pool = ComputePool.shared
        live.withUnsafeBufferPointer { live in
            if states[live[0]].rowsProcessIndependently {
                pool.parallelFor(live.count * beams) { rows in
                    for row in rows { states[live[row / beams]].processRow(logits + row * v, beam: row % beams) }
                }
            } else {
                pool.parallelFor(live.count) { inputs in
                    for position in inputs {
                        for b in 0..<beams { states[live[position]].processRow(logits + (position * beams + b) * v, beam: b) }
                    }
                }
            }
            caches.withUnsafeMutableBufferPointer { caches in
                reorders.withUnsafeMutableBufferPointer { reorders in
                    pool.parallelFor(live.count) { inputs in
                        for position in inputs {
                            let i = live[position]
                            states[i].choose(processedLogits: logits + position * beams * v)
                            reorders[i].apply(&caches[i], parents: states[i].parentBeam)
                        }
                    }
                }
            }
        }
    }
}

/// Reorders one input's beam caches after a step: new beam j continues old beam
/// parents[j]. A parent's cache object moves to its first child as is; only a
/// second child of the same parent costs a copy (into a cache nobody continues).
struct BeamCacheReorder {
    private var taken: [Bool]
    private var next: [KVCache?]
    private var free: [Int]

    init(beams: Int) {
        taken = [Bool](repeating: false, count: beams)
        next = [KVCache?](repeating: nil, count: beams)
        free = []
        free.reserveCapacity(beams)
    }

    mutating func apply(_ caches: inout [KVCache], parents: [Int]) {
        let beams = caches.count
        for b in 0..<beams { taken[b] = false }
        for j in 0..<beams {
            let parent = parents[j]
            if taken[parent] {
                next[j] = nil
            } else {
                taken[parent] = true
                next[j] = caches[parent]
            }
        }
        free.removeAll(keepingCapacity: true)
        for b in 0..<beams where !taken[b] { free.append(b) }
        for j in 0..<beams where next[j] == nil {
            let spare = caches[free.removeLast()]
            spare.copy(from: caches[parents[j]])
            next[j] = spare
        }
        for j in 0..<beams {
            caches[j] = next[j]!
            next[j] = nil
        }
    }
}

/// Target caches start small and double when full: most translations are far
/// shorter than max_length (NLLB: 200), and a full-length cache per beam of
/// every input would cost 12 layers × 2 × 1024 floats per position.
enum TargetCacheGrowth {
    /// Room for a translation half again as long as its source; growing past that costs a copy.
    static func initialCapacity(source: EncodedSource, maxLength: Int) -> Int {
        min(maxLength - 1, max(16, source.tokenCount + source.tokenCount / 2 + 8))
    }

    /// Replaces full caches (all of one input have the same length) with ones twice as large.
    static func growIfFull(_ caches: inout [KVCache], model: Seq2SeqModel, maxLength: Int) {
        guard let first = caches.first, first.remaining == 0 else { return }
        let capacity = min(maxLength - 1, 2 * first.capacity)
        guard capacity > first.capacity else { return }  // the search never feeds more than max_length - 1 tokens
        for b in caches.indices {
            let larger = model.makeTargetCache(capacity: capacity)
            larger.copy(from: caches[b])
            caches[b] = larger
        }
    }
}
