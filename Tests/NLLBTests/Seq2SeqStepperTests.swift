import Foundation
import Generation
import XCTest

@testable import NLLB

/// One `Seq2SeqStepper` step mixes sequences that joined at different steps, search beams or
/// not, and score different output vocabularies: each still gives what it gives alone.
final class Seq2SeqStepperTests: XCTestCase {
    func testSequencesWithTheirOwnVocabulariesBeamsAndStartsGiveWhatTheyGiveAlone() throws {
        XCTAssertEqual(try mixedBatch(), 0)
    }

    /// Greedy sequences with drafts (n-grams, an int8 copy, both) guess several rows per step
    /// among beams and plain sequences: the ids are still what each gives alone without a draft.
    func testSequencesWithDraftsAmongOthersGiveThePlainIds() throws {
        let int8 = try M2M100Model(directory: NLLBFixtures.model("tiny"), precision: .int8)
        let proposed = try mixedBatch { i in
            switch i % 6 {
            case 0: return NGramDraft()
            case 2: return Seq2SeqModelDraft(model: int8)
            case 4: return FallbackDraft(first: NGramDraft(), second: Seq2SeqModelDraft(model: int8))
            default: return nil
            }
        }
        XCTAssertGreaterThan(proposed, 0, "no draft guessed anything, so nothing was verified")
    }

    /// Sentences drafting with one draft model make each guess together: one pass of the draft
    /// model scores every sentence's guess, and the ids are still transformers' greedy ids.
    func testTheDraftModelGuessesForEverySentenceInOnePass() throws {
        let translator = try M2M100Translator(directory: NLLBFixtures.model("tiny"))
        let model = translator.model
        let reference = try NLLBFixtures.reference("tiny")
        let greedy = try XCTUnwrap(reference.cases.first { $0.name == "greedy" })
        let counting = CountingSeq2SeqModel(try M2M100Model(directory: NLLBFixtures.model("tiny"), precision: .int8))
        let sequences = try reference.sources.indices.map { i -> Seq2SeqSequence in
            let parameters = NLLBFixtures.parameters(
                greedy.parameters, translator: translator, targetLanguage: reference.target_languages[i])
            let sequence = Seq2SeqSequence(
                source: try model.encode([reference.sources[i]])[0], parameters: parameters,
                maxLength: try parameters.resolvedMaxLength(maxTargetPositions: model.maxTargetPositions), seed: nil,
                model: model)
            try sequence.speculate(
                with: Seq2SeqModelDraft(model: counting), draftTokens: 3, sourceTokens: reference.sources[i])
            return sequence
        }
        let stepper = Seq2SeqStepper(model: model)
        while sequences.contains(where: { !$0.isFinished }) { try stepper.step(sequences) }
        XCTAssertEqual(sequences.map(\.output.ids), greedy.outputs)
        XCTAssertGreaterThan(sequences.reduce(0) { $0 + ($1.speculativeStatistics?.proposedTokens ?? 0) }, 0)
        XCTAssertEqual(
            counting.mostScoredRows, sequences.count,
            "a draft pass scored \(counting.mostScoredRows) sentences' guesses, not all \(sequences.count)")
    }

    /// Steps every source of the fixture in one stepper, the next joining one step later, each
    /// with its own vocabulary, greedy (with `draft(i)`, if any) or 3 beams; checks each output
    /// against the source translated alone, and returns how many tokens the drafts proposed.
    private func mixedBatch(draft: (Int) -> SpeculativeDraft? = { _ in nil }) throws -> Int {
        let translator = try M2M100Translator(directory: NLLBFixtures.model("tiny"))
        let model = translator.model
        let reference = try NLLBFixtures.reference("tiny")
        let greedy = try XCTUnwrap(reference.cases.first { $0.name == "greedy" })
        // Each source: its own vocabulary (its greedy output, or every third token), greedy or 3 beams.
        let parameters = reference.sources.indices.map { i -> Seq2SeqParameters in
            var p = NLLBFixtures.parameters(
                greedy.parameters, translator: translator, targetLanguage: reference.target_languages[i])
            p.numBeams = i % 2 == 0 ? 1 : 3
            p.generation.maxNewTokens = 10
            p.generation.maxLength = nil
            let everyThird = (0..<model.vocabularySize).filter { $0 % 3 == i % 3 || $0 == 2 }
            p.outputVocabulary = i % 3 == 0 ? nil : OutputVocabulary(i % 3 == 1 ? everyThird : greedy.outputs[i] + [2])
            return p
        }
        let alone = try reference.sources.indices.map { i in
            try translator.translate(
                [reference.sources[i]], targetLanguageID: reference.target_languages[i],
                parameters: parameters[i]
            ).translations[0].outputIDs
        }
        let stepper = Seq2SeqStepper(model: model)
        var running: [Seq2SeqSequence] = []
        var all: [Seq2SeqSequence] = []
        for (i, source) in reference.sources.enumerated() {
            let encoded = try model.encode([source])[0]
            let maxLength = try parameters[i].resolvedMaxLength(maxTargetPositions: model.maxTargetPositions)
            let sequence = Seq2SeqSequence(
                source: encoded, parameters: parameters[i], maxLength: maxLength, seed: nil, model: model)
            if parameters[i].numBeams == 1, let draft = draft(i) {
                try sequence.speculate(with: draft, draftTokens: 1 + i % 4, sourceTokens: source)
            }
            running.append(sequence)
            all.append(sequence)
            try stepper.step(running)  // the next source joins one step later
            running.removeAll { $0.isFinished }
        }
        while !running.isEmpty {
            try stepper.step(running)
            running.removeAll { $0.isFinished }
        }
        XCTAssertEqual(all.map(\.output.ids), alone)
        return all.reduce(0) { $0 + ($1.speculativeStatistics?.proposedTokens ?? 0) }
    }

    func testScoringRowsTheLastStepDidNotComputeIsAnError() throws {
        let model = try M2M100Model(directory: NLLBFixtures.model("tiny"))
        let logits = UnsafeMutablePointer<Float>.allocate(capacity: 2 * model.vocabularySize)
        defer { logits.deallocate() }
        let source = try model.encode([try NLLBFixtures.reference("tiny").sources[0]])[0]
        try model.decode(
            [Seq2SeqStep(target: model.makeTargetCache(capacity: 4), source: source, token: 2)], logits: nil)
        XCTAssertNoThrow(try model.score(rows: 0..<1, logits: logits, vocabulary: nil))
        XCTAssertThrowsError(try model.score(rows: 0..<2, logits: logits, vocabulary: nil)) { error in
            XCTAssertEqual(error as? M2M100Error, .rowsNotDecoded(rows: 0..<2, decoded: 1))
        }
    }
}

/// A model that counts how many rows each `score` call scores (drafts score one row per
/// sentence per guess), around a real one.
final class CountingSeq2SeqModel: Seq2SeqModel {
    let base: Seq2SeqModel
    private(set) var mostScoredRows = 0

    init(_ base: Seq2SeqModel) { self.base = base }

    var vocabularySize: Int { base.vocabularySize }
    var maxSourcePositions: Int { base.maxSourcePositions }
    var maxTargetPositions: Int { base.maxTargetPositions }
    func encode(_ sources: [[Int]]) throws -> [EncodedSource] { try base.encode(sources) }
    func makeTargetCache(capacity: Int) -> KVCache { base.makeTargetCache(capacity: capacity) }
    func decode(_ steps: [Seq2SeqStep], logits: UnsafeMutablePointer<Float>?, vocabulary: OutputVocabulary?) throws {
        try base.decode(steps, logits: logits, vocabulary: vocabulary)
    }
    func score(rows: Range<Int>, logits: UnsafeMutablePointer<Float>, vocabulary: OutputVocabulary?) throws {
        mostScoredRows = max(mostScoredRows, rows.count)
        try base.score(rows: rows, logits: logits, vocabulary: vocabulary)
    }
}
