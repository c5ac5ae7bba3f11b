import Kernels

/// Runs one batched decoder step over any set of `Seq2SeqSequence`s: every row of every
/// unfinished sequence goes through the decoder together, the output layer scores only the
/// rows whose choice is not forced (once per output vocabulary in the batch), and each
/// sequence then makes its own choice. Sequences with a draft model make their guesses first,
/// guess j of every one that shares a draft model in one pass of that model.
///
/// Owns the step's scratch (steps, logits), grown to the largest batch and never shrunk, so
/// steady steps allocate nothing here. One caller at a time, like the model it drives.
public final class Seq2SeqStepper {
    public let model: Seq2SeqModel
    private var logits = UnsafeMutablePointer<Float>.allocate(capacity: 1)
    private var logitsRows = 0
    private var steps: [Seq2SeqStep] = []
    /// The sequences of the step in row order: scored ones grouped by vocabulary, forced ones last.
    private var ordered: [Seq2SeqSequence] = []
    private var firstRow: [Int] = []
    private var groups: [(vocabulary: OutputVocabulary?, sequences: [Seq2SeqSequence])] = []
    /// Beam rows whose processing may run in parallel: (index in `ordered`, beam).
    private var independentRows: [(sequence: Int, beam: Int)] = []
    private var dependentSequences: [Int] = []
    private var beamSequences: [Int] = []
    private var forced: [Seq2SeqSequence] = []
    /// Sequences whose draft model is still guessing, and those of the current draft pass.
    private var guessing: [Seq2SeqSequence] = []
    private var guessers: [Seq2SeqSequence] = []
    private var vocabularies: [OutputVocabulary?] = []

    public init(model: Seq2SeqModel) {
        self.model = model
    }

    deinit { logits.deallocate() }

    /// One decoder step for every unfinished sequence of `sequences`; returns the rows it
    /// computed (0 when every sequence had finished). A model error leaves the sequences
    /// unusable: the caller ends them.
    @discardableResult
    public func step(_ sequences: [Seq2SeqSequence]) throws -> Int {
        orderRows(sequences)
        guard !ordered.isEmpty else { return 0 }
        try guessTogether()
        steps.removeAll(keepingCapacity: true)
        firstRow.removeAll(keepingCapacity: true)
        for sequence in ordered {
            firstRow.append(steps.count)
            sequence.appendSteps(to: &steps)
        }
        let rows = steps.count
        let v = model.vocabularySize
        reserveLogits(rows: rows)
        try model.decode(steps, logits: nil, vocabulary: nil)
        // Drop the steps' references to the caches before beam reorders swap them.
        steps.removeAll(keepingCapacity: true)
        var row = 0
        for group in groups {
            let count = group.sequences.reduce(0) { $0 + $1.rows }
            if !group.sequences.isEmpty && !group.sequences[0].isForcedStep {
                try model.score(rows: row..<(row + count), logits: logits + row * v, vocabulary: group.vocabulary)
            }
            row += count
        }
        advance()
        return rows
    }

    /// The drafts' guesses for this step. Guesses that need no model come at once; a draft
    /// model's come one per pass, each pass carrying the next guess of every sequence that
    /// drafts with that model: the rows only filling its caches first, then the scored rows
    /// grouped by output vocabulary, so each group is one call of the output layer.
    private func guessTogether() throws {
        guessing.removeAll(keepingCapacity: true)
        for sequence in ordered {
            try sequence.beginGuesses()
            if sequence.guessingDraft != nil { guessing.append(sequence) }
        }
        while true {
            guessing.removeAll { $0.nextGuessDraft() == nil }
            guard let draftModel = guessing.first?.guessingDraft?.model else { return }
            guessers.removeAll(keepingCapacity: true)
            vocabularies.removeAll(keepingCapacity: true)
            for sequence in guessing where sequence.guessingDraft!.model === draftModel {
                guessers.append(sequence)
                let vocabulary = sequence.guessingDraft!.vocabulary
                if !vocabularies.contains(where: { $0 == vocabulary }) { vocabularies.append(vocabulary) }
            }
            steps.removeAll(keepingCapacity: true)
            for sequence in guessers {
                sequence.guessingDraft!.appendSteps(history: sequence.guessHistory, last: false, to: &steps)
            }
            let firstScored = steps.count
            for vocabulary in vocabularies {
                for sequence in guessers where sequence.guessingDraft!.vocabulary == vocabulary {
                    sequence.guessingDraft!.appendSteps(history: sequence.guessHistory, last: true, to: &steps)
                }
            }
            reserveLogits(rows: guessers.count)
            try draftModel.decode(steps, logits: nil, vocabulary: nil)
            steps.removeAll(keepingCapacity: true)
            let v = draftModel.vocabularySize
            var row = 0
            for vocabulary in vocabularies {
                let start = row
                for sequence in guessers where sequence.guessingDraft!.vocabulary == vocabulary { row += 1 }
                try draftModel.score(
                    rows: (firstScored + start)..<(firstScored + row), logits: logits + start * v,
                    vocabulary: vocabulary)
                row = start
                for sequence in guessers where sequence.guessingDraft!.vocabulary == vocabulary {
                    sequence.takeGuess(logits: logits + row * v)
                    row += 1
                }
            }
        }
    }

    /// Fills `ordered` and `groups`: scored sequences by vocabulary, then the forced ones.
    private func orderRows(_ sequences: [Seq2SeqSequence]) {
        for g in groups.indices { groups[g].sequences.removeAll(keepingCapacity: true) }
        forced.removeAll(keepingCapacity: true)
        for sequence in sequences where !sequence.isFinished {
            if sequence.isForcedStep {
                forced.append(sequence)
            } else if let g = groups.firstIndex(where: { $0.vocabulary == sequence.vocabulary }) {
                groups[g].sequences.append(sequence)
            } else {
                groups.append((sequence.vocabulary, [sequence]))
            }
        }
        groups.removeAll { $0.sequences.isEmpty }
        if !forced.isEmpty { groups.append((nil, forced)) }
        ordered.removeAll(keepingCapacity: true)
        for group in groups { ordered.append(contentsOf: group.sequences) }
    }

    private func reserveLogits(rows: Int) {
        guard rows > logitsRows else { return }
        logits.deallocate()
        logits = .allocate(capacity: rows * model.vocabularySize)
        logitsRows = rows
    }

    /// Each sequence's choice from its rows. Beam searches share nothing, and their rows share
    /// nothing without a repetition penalty, so both run on the compute pool: log-softmax over
    /// every beam row of a 256k vocabulary would otherwise keep one core busy while the others wait.
    private func advance() {
        let v = model.vocabularySize
        let logits = self.logits
        independentRows.removeAll(keepingCapacity: true)
        dependentSequences.removeAll(keepingCapacity: true)
        beamSequences.removeAll(keepingCapacity: true)
        for (i, sequence) in ordered.enumerated() {
            guard let search = sequence.beamSearch else {
                sequence.chooseToken(logits: logits + firstRow[i] * v)
                continue
            }
            beamSequences.append(i)
            if search.rowsProcessIndependently {
                for b in 0..<sequence.rows { independentRows.append((i, b)) }
            } else {
                dependentSequences.append(i)
            }
        }
        guard !beamSequences.isEmpty else { return }
        let pool = ComputePool.shared
        ordered.withUnsafeBufferPointer { ordered in
            firstRow.withUnsafeBufferPointer { firstRow in
                independentRows.withUnsafeBufferPointer { rows in
                    pool.parallelFor(rows.count) { range in
                        for r in range {
                            let (i, b) = rows[r]
                            ordered[i].beamSearch!.processRow(logits + (firstRow[i] + b) * v, beam: b)
                        }
                    }
                }
                dependentSequences.withUnsafeBufferPointer { dependent in
                    pool.parallelFor(dependent.count) { range in
                        for position in range {
                            let i = dependent[position]
                            let search = ordered[i].beamSearch!
                            for b in 0..<ordered[i].rows { search.processRow(logits + (firstRow[i] + b) * v, beam: b) }
                        }
                    }
                }
                beamSequences.withUnsafeBufferPointer { searches in
                    pool.parallelFor(searches.count) { range in
                        for position in range {
                            let i = searches[position]
                            ordered[i].chooseBeams(processedLogits: logits + firstRow[i] * v)
                        }
                    }
                }
            }
        }
    }
}
