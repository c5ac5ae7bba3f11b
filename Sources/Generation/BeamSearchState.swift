import Foundation
import Kernels
import Tensor

/// The beam search of one input, exactly as transformers 4.57.1 `_beam_search`
/// computes it (`_get_top_k_continuations`, `_get_running_beams_for_next_iteration`,
/// `_update_finished_beams`, `_check_early_stop_heuristic`), for one batch row.
///
/// Model-agnostic: each step it is handed the logits of its running beams and
/// says which tokens they read next and which beam's cache each continues. The
/// arithmetic is float32 in transformers' order, with its -1e9 sentinels, so that
/// the same hypotheses win; ties are broken towards the lower index.
///
/// Inputs of a batch are independent: once an input is done its finished
/// hypotheses cannot change (transformers keeps stepping it only because the
/// batch runs in lockstep, and masks whatever it would add), so a done input
/// simply leaves the batch.
final class BeamSearchState {
    let numBeams: Int
    /// transformers' `beams_to_keep`: candidates gathered per step, enough that
    /// `numBeams` of them continue even if the best ones all end in EOS.
    let candidateCount: Int
    let vocabularySize: Int
    /// transformers' `max_length`: decoder start included.
    let maxLength: Int
    let lengthPenalty: Float
    let earlyStopping: BeamEarlyStopping
    let eosTokenIDs: [Int]
    let forcedBOSTokenID: Int?
    let repetitionPenalty: Float
    let noRepeatNgramSize: Int
    /// The only tokens the model scores (a restricted output vocabulary), ascending; every other
    /// entry of a row of logits is -inf and stays so, so only these are normalized and searched.
    let outputTokens: [Int]?

    /// Tokens in each running sequence (transformers' `cur_len`).
    private(set) var length = 1
    /// Running sequences [numBeams, maxLength], sorted by score (best first after the first step).
    private var running: [Int]
    private(set) var runningScores: [Float]
    /// Finished hypotheses [numBeams, maxLength], best first; unfilled slots score -1e9.
    private var finished: [Int]
    private var finishedLengths: [Int]
    private(set) var finishedScores: [Float]
    private(set) var isFinished: [Bool]
    /// transformers' `is_early_stop_heuristic_unsatisfied`.
    private(set) var improvementPossible = true
    private(set) var isDone = false
    /// After `advance`, running beam j continues what beam `parentBeam[j]` had read.
    private(set) var parentBeam: [Int]

    // Scratch, sized once.
    private var candidateScores: [Float]
    private var candidateIndices: [Int]
    private var candidateHits: [Bool]
    private var order: [Int]
    private var selectionScores: [Float]
    private var nextRunning: [Int]
    private var nextRunningScores: [Float]
    private var nextFinished: [Int]
    private var nextFinishedLengths: [Int]
    private var nextFinishedScores: [Float]
    private var nextIsFinished: [Bool]
    private var distinct: [Int]
    private var seenStamp: [UInt32]
    private var stamp: UInt32 = 0

    /// transformers' stand-in for "impossible" (added, not assigned).
    static let sentinel: Float = -1.0e9

    init(
        numBeams: Int, vocabularySize: Int, maxLength: Int, decoderStartTokenID: Int,
        lengthPenalty: Float, earlyStopping: BeamEarlyStopping, eosTokenIDs: [Int],
        forcedBOSTokenID: Int?, repetitionPenalty: Float, noRepeatNgramSize: Int, outputTokens: [Int]? = nil
    ) {
        precondition(numBeams >= 1 && maxLength >= 2 && vocabularySize >= 1)
        self.numBeams = numBeams
        candidateCount = max(2, 1 + eosTokenIDs.count) * numBeams
        self.vocabularySize = vocabularySize
        self.maxLength = maxLength
        self.lengthPenalty = lengthPenalty
        self.earlyStopping = earlyStopping
        self.eosTokenIDs = eosTokenIDs
        self.forcedBOSTokenID = forcedBOSTokenID
        self.repetitionPenalty = repetitionPenalty
        self.noRepeatNgramSize = noRepeatNgramSize
        self.outputTokens = outputTokens
        // transformers fills unused positions with pad; they are never read here.
        running = [Int](repeating: 0, count: numBeams * maxLength)
        for b in 0..<numBeams { running[b * maxLength] = decoderStartTokenID }
        // Only the first beam starts live, so the identical beams do not all propose the same tokens.
        runningScores = (0..<numBeams).map { $0 == 0 ? 0 : Self.sentinel }
        finished = running
        finishedLengths = [Int](repeating: 1, count: numBeams)
        finishedScores = [Float](repeating: Self.sentinel, count: numBeams)
        isFinished = [Bool](repeating: false, count: numBeams)
        parentBeam = Array(0..<numBeams)
        candidateScores = [Float](repeating: 0, count: candidateCount)
        candidateIndices = [Int](repeating: 0, count: candidateCount)
        candidateHits = [Bool](repeating: false, count: candidateCount)
        order = [Int](repeating: 0, count: numBeams + candidateCount)
        selectionScores = [Float](repeating: 0, count: numBeams + candidateCount)
        nextRunning = running
        nextRunningScores = runningScores
        nextFinished = finished
        nextFinishedLengths = finishedLengths
        nextFinishedScores = finishedScores
        nextIsFinished = isFinished
        distinct = []
        distinct.reserveCapacity(maxLength)
        seenStamp = repetitionPenalty != 1 ? [UInt32](repeating: 0, count: vocabularySize) : []
    }

    /// Whether this step's choice is forced (ForcedBOSTokenLogitsProcessor), so the
    /// model need not compute logits for it.
    var isForcedStep: Bool { length == 1 && forcedBOSTokenID != nil }

    /// The tokens running beam `beam` has read and will read.
    func runningTokens(beam: Int) -> ArraySlice<Int> {
        running[(beam * maxLength)..<(beam * maxLength + length)]
    }

    /// The token running beam `beam` feeds to the decoder next.
    func lastToken(beam: Int) -> Int { running[beam * maxLength + length - 1] }

    /// One step. `logits` holds `numBeams` rows of `vocabularySize` for the running
    /// beams in order; they are overwritten with the processed log-probabilities.
    /// On a forced step their content is ignored.
    func advance(logits: UnsafeMutablePointer<Float>) {
        for b in 0..<numBeams { processRow(logits + b * vocabularySize, beam: b) }
        choose(processedLogits: logits)
    }

    /// Whether `processRow` may run for different beams of this input at the same time:
    /// the repetition penalty shares one scratch between beams.
    var rowsProcessIndependently: Bool { repetitionPenalty == 1 }

    /// The first half of `advance`: log-softmax and the logits processors over beam `beam`'s
    /// row of logits, in place. Touches nothing of the state but, with a repetition penalty,
    /// its scratch (`rowsProcessIndependently`).
    func processRow(_ row: UnsafeMutablePointer<Float>, beam: Int) {
        precondition(!isDone && length < maxLength, "advance() after the search finished")
        process(row, beam: beam)
    }

    /// The second half of `advance`, once every beam's row is processed: the candidates and
    /// the next running and finished beams.
    func choose(processedLogits logits: UnsafeMutablePointer<Float>) {
        precondition(!isDone && length < maxLength, "advance() after the search finished")
        let v = vocabularySize
        selectTopCandidates(logits)
        for k in 0..<candidateCount {
            let token = candidateIndices[k] % v
            // EosTokenCriteria and MaxLengthCriteria on the sequence with the candidate appended.
            candidateHits[k] = eosTokenIDs.contains(token) || length + 1 >= maxLength
        }
        updateFinished()
        updateRunning()
        length += 1
        updateEarlyStopHeuristic()
        let full = earlyStopping == .whenBeamsFull && isFinished.allSatisfy { $0 }
        isDone = !improvementPossible || full || candidateHits.allSatisfy { $0 }
    }

    /// The best hypothesis: transformers' `sequences[0]`. A search stopped early
    /// (cancelled) gives its best running beam, the tokens read so far.
    func best(cancelled: Bool = false) -> Seq2SeqOutput {
        if !cancelled && isFinished[0] {
            let ids = Array(finished[0..<finishedLengths[0]])
            let reason: FinishReason = eosTokenIDs.contains(ids[ids.count - 1]) ? .eos : .length
            return Seq2SeqOutput(ids: ids, finishReason: reason, score: finishedScores[0])
        }
        return Seq2SeqOutput(
            ids: Array(runningTokens(beam: 0)), finishReason: cancelled ? .cancelled : .length, score: nil)
    }

    // MARK: - The steps of transformers' loop

    /// log_softmax, then the logits processors in transformers' order:
    /// repetition penalty, no-repeat n-grams, forced BOS.
    private func process(_ row: UnsafeMutablePointer<Float>, beam: Int) {
        let v = vocabularySize
        if isForcedStep, let forced = forcedBOSTokenID {
            // ForcedBOSTokenLogitsProcessor replaces the whole row.
            row.update(repeating: -.infinity, count: v)
            row[forced] = 0
            return
        }
        if let outputTokens {
            outputTokens.withUnsafeBufferPointer { logSoftmax(row, at: $0) }
        } else {
            logSoftmax(out: row, input: row, count: v)
        }
        let tokens = runningTokens(beam: beam)
        if repetitionPenalty != 1 {
            stamp &+= 1
            if stamp == 0 {  // wrapped: clear the marks once every 2^32 uses
                for i in seenStamp.indices { seenStamp[i] = 0 }
                stamp = 1
            }
            distinct.removeAll(keepingCapacity: true)
            for token in tokens where seenStamp[token] != stamp {
                seenStamp[token] = stamp
                distinct.append(token)
            }
            LogitsProcessors.repetitionPenalty(row, distinctTokens: distinct, penalty: repetitionPenalty)
        }
        LogitsProcessors.noRepeatNgram(row, tokens: tokens, size: noRepeatNgramSize)
    }

    /// `_get_top_k_continuations`: the `candidateCount` best of running score +
    /// log-prob over every (beam, token), best first (ties: lower beam·vocab + token).
    ///
    /// Once the list is full, eight scores at a time are compared with the worst kept one
    /// and only a group that beats it is looked at one by one: the bar rises within the
    /// first few thousand tokens, so almost every group of a 256k vocabulary is one vector
    /// compare (the scalar scan was 5.5% of an NLLB batch-16 beam-4 translation).
    private func selectTopCandidates(_ logits: UnsafeMutablePointer<Float>) {
        let v = vocabularySize
        let k = candidateCount
        var count = 0
        candidateScores.withUnsafeMutableBufferPointer { scoresBuffer in
            candidateIndices.withUnsafeMutableBufferPointer { indicesBuffer in
                let scores = scoresBuffer.baseAddress!
                let indices = indicesBuffer.baseAddress!
                @inline(__always) func offer(_ score: Float, _ index: Int) {
                    // Scanning in index order, an equal score never displaces an earlier candidate.
                    if count == k && !(score > scores[k - 1]) { return }
                    var p = count == k ? k - 1 : count
                    while p > 0 && scores[p - 1] < score {
                        scores[p] = scores[p - 1]
                        indices[p] = indices[p - 1]
                        p -= 1
                    }
                    scores[p] = score
                    indices[p] = index
                    if count < k { count += 1 }
                }
                for b in 0..<numBeams {
                    let row = logits + b * v
                    let base = runningScores[b]
                    // A forced step's one live entry (the target language) may lie outside them.
                    if let outputTokens, !isForcedStep {
                        for t in outputTokens { offer(row[t] + base, b * v + t) }
                        continue
                    }
                    let raw = UnsafeRawPointer(row)
                    let shift = SIMD8<Float>(repeating: base)
                    var t = 0
                    while t + 8 <= v {
                        let group = raw.loadUnaligned(fromByteOffset: t * 4, as: SIMD8<Float>.self) + shift
                        if count < k || any(group .> SIMD8<Float>(repeating: scores[k - 1])) {
                            for lane in 0..<8 { offer(group[lane], b * v + t + lane) }
                        }
                        t += 8
                    }
                    while t < v {
                        offer(row[t] + base, b * v + t)
                        t += 1
                    }
                }
            }
        }
    }

    /// `_update_finished_beams`: candidates among the top `numBeams` that just hit
    /// a stopping criterion compete, length-penalized, with the finished ones.
    private func updateFinished() {
        let k = candidateCount
        let n = numBeams
        // (cur_len + 1 - decoder_prompt_len) ** length_penalty, a Python float used as a float32 scalar.
        let denominator = Float(pow(Double(length), Double(lengthPenalty)))
        let beamsFull = earlyStopping == .whenBeamsFull && isFinished.allSatisfy { $0 }
        for i in 0..<n { selectionScores[i] = finishedScores[i] }
        for c in 0..<k {
            var score = candidateScores[c] / denominator
            if beamsFull { score += Self.sentinel }
            if !improvementPossible { score += Self.sentinel }
            if !(candidateHits[c] && c < n) { score += Self.sentinel }
            selectionScores[n + c] = score
        }
        sortDescending(count: n + k)
        for slot in 0..<n {
            let m = order[slot]
            let to = slot * maxLength
            if m < n {
                let from = m * maxLength
                for i in 0..<finishedLengths[m] { nextFinished[to + i] = finished[from + i] }
                nextFinishedLengths[slot] = finishedLengths[m]
                nextIsFinished[slot] = isFinished[m]
            } else {
                let c = m - n
                let beam = candidateIndices[c] / vocabularySize
                let from = beam * maxLength
                for i in 0..<length { nextFinished[to + i] = running[from + i] }
                nextFinished[to + length] = candidateIndices[c] % vocabularySize
                nextFinishedLengths[slot] = length + 1
                nextIsFinished[slot] = candidateHits[c] && c < n
            }
            nextFinishedScores[slot] = selectionScores[m]
        }
        swap(&finished, &nextFinished)
        swap(&finishedLengths, &nextFinishedLengths)
        swap(&finishedScores, &nextFinishedScores)
        swap(&isFinished, &nextIsFinished)
    }

    /// `_get_running_beams_for_next_iteration`: the best `numBeams` candidates that
    /// did not just finish continue (a finished one scores -1e9 lower).
    private func updateRunning() {
        let k = candidateCount
        for c in 0..<k {
            selectionScores[c] = candidateScores[c] + (candidateHits[c] ? Self.sentinel : 0)
        }
        sortDescending(count: k)
        for j in 0..<numBeams {
            let c = order[j]
            let beam = candidateIndices[c] / vocabularySize
            let from = beam * maxLength
            let to = j * maxLength
            for i in 0..<length { nextRunning[to + i] = running[from + i] }
            nextRunning[to + length] = candidateIndices[c] % vocabularySize
            nextRunningScores[j] = selectionScores[c]
            parentBeam[j] = beam
        }
        swap(&running, &nextRunning)
        swap(&runningScores, &nextRunningScores)
    }

    /// `_check_early_stop_heuristic`, with `length` already advanced.
    private func updateEarlyStopHeuristic() {
        let bestLength = earlyStopping == .never && lengthPenalty > 0 ? maxLength - 1 : length - 1
        let bestPossible = runningScores[0] / Float(pow(Double(bestLength), Double(lengthPenalty)))
        let worst = finishedScores.min()!
        var anyBetter = false
        for slot in 0..<numBeams where bestPossible > (isFinished[slot] ? worst : Self.sentinel) {
            anyBetter = true
        }
        improvementPossible = improvementPossible && anyBetter
    }

    /// Fills `order[0..<count]` with indices of `selectionScores` by descending
    /// score, ties by ascending index (`torch.topk` over a handful of entries).
    private func sortDescending(count: Int) {
        for i in 0..<count { order[i] = i }
        // Insertion sort: at most a few dozen entries, and stable.
        for i in 1..<max(count, 1) {
            let index = order[i]
            let score = selectionScores[index]
            var p = i
            while p > 0 && selectionScores[order[p - 1]] < score {
                order[p] = order[p - 1]
                p -= 1
            }
            order[p] = index
        }
    }
}
