import XCTest

@testable import Generation

/// The adaptive draft length, the n-gram draft, and taking tokens back from a history.
final class SpeculativeDraftTests: XCTestCase {
    func testDraftLengthGrowsOnFullAcceptanceAndShrinksOnMisses() {
        var length = DraftLength(initial: 4, maximum: 6)
        length.record(proposed: 4, accepted: 4)
        XCTAssertEqual(length.current, 5)
        length.record(proposed: 5, accepted: 5)
        length.record(proposed: 6, accepted: 6)
        XCTAssertEqual(length.current, 6, "capped at the maximum")
        length.record(proposed: 6, accepted: 3)
        XCTAssertEqual(length.current, 6, "half kept: unchanged")
        length.record(proposed: 6, accepted: 2)
        XCTAssertEqual(length.current, 5)
        for _ in 0..<10 { length.record(proposed: length.current, accepted: 0) }
        XCTAssertEqual(length.current, 1, "never below one")
        length.record(proposed: 0, accepted: 0)
        XCTAssertEqual(length.current, 1, "a round without proposals changes nothing")
        XCTAssertEqual(DraftLength(initial: 9, maximum: 7).current, 7)
    }

    func testNGramDraftProposesWhatFollowedTheLatestLongestMatch() throws {
        let draft = NGramDraft()
        var parameters = GenerationParameters()
        parameters.maxNewTokens = 10
        let sampler = Sampler(vocabularySize: 20, parameters: parameters)
        // "5 6 7" occurs twice: the later occurrence (followed by 9 1) wins over the earlier (8).
        let history = TokenHistory(prompt: [5, 6, 7, 8, 2, 5, 6, 7, 9, 1, 3, 6, 7], vocabularySize: 20, reserve: 10)
        XCTAssertEqual(try draft.propose(count: 2, history: history, sampler: sampler, probabilities: nil), 2)
        XCTAssertEqual(Array(history.tokens.suffix(2)), [9, 1])
        history.truncate(to: 13)
        // No earlier 4 at all: nothing to propose.
        let unseen = TokenHistory(prompt: [1, 2, 3, 4], vocabularySize: 20, reserve: 4)
        XCTAssertEqual(try draft.propose(count: 3, history: unseen, sampler: sampler, probabilities: nil), 0)
        // A repeating pattern goes on past the end of what was written.
        let loop = TokenHistory(prompt: [1, 2, 3, 1, 2, 3, 1, 2], vocabularySize: 20, reserve: 8)
        XCTAssertEqual(try draft.propose(count: 5, history: loop, sampler: sampler, probabilities: nil), 5)
        XCTAssertEqual(Array(loop.tokens.suffix(5)), [3, 1, 2, 3, 1])
        // When sampling, the proposal's distribution is one-hot.
        let rows = UnsafeMutablePointer<Float>.allocate(capacity: 40)
        defer { rows.deallocate() }
        XCTAssertEqual(try draft.propose(count: 2, history: history, sampler: sampler, probabilities: rows), 2)
        XCTAssertEqual(rows[9], 1)
        XCTAssertEqual(rows[20 + 1], 1)
        XCTAssertEqual((0..<40).map { rows[$0] }.reduce(0, +), 2)
    }

    /// Proposes fixed tokens, or none.
    final class FixedDraft: SpeculativeDraft {
        let tokens: [Int]
        var kept: [Int] = []
        init(_ tokens: [Int]) { self.tokens = tokens }
        func start(capacity: Int) throws {}
        func propose(count: Int, history: TokenHistory, sampler: Sampler, probabilities: UnsafeMutablePointer<Float>?)
            throws -> Int
        {
            for token in tokens.prefix(count) { history.append(token) }
            return min(count, tokens.count)
        }
        func keep(prefix length: Int) { kept.append(length) }
    }

    func testFallbackDraftAsksTheSecondOnlyWhenTheFirstHasNothing() throws {
        let sampler = Sampler(vocabularySize: 20, parameters: GenerationParameters())
        let second = FixedDraft([7, 8])
        let history = TokenHistory(prompt: [1], vocabularySize: 20, reserve: 8)
        let withGuess = FallbackDraft(first: FixedDraft([4]), second: second)
        XCTAssertEqual(try withGuess.propose(count: 3, history: history, sampler: sampler, probabilities: nil), 1)
        XCTAssertEqual(history.tokens, [1, 4])
        history.truncate(to: 1)
        let without = FallbackDraft(first: FixedDraft([]), second: second)
        XCTAssertEqual(try without.propose(count: 3, history: history, sampler: sampler, probabilities: nil), 2)
        XCTAssertEqual(history.tokens, [1, 7, 8])
        without.keep(prefix: 2)
        XCTAssertEqual(second.kept, [2], "both drafts hear what was kept")
    }

    /// What a batching executor learns before stepping draft models: free guesses are made at
    /// once, and a model draft (alone or after an n-gram table with nothing) is handed back to be
    /// stepped with the other sequences', nothing appended.
    func testProposingWithoutAModelHandsBackTheModelDraftToStep() throws {
        let sampler = Sampler(vocabularySize: 3, parameters: GenerationParameters())
        let model = ModelDraft(
            model: PositionalMarkovModel(table: [[0, 1, 2], [2, 1, 0], [1, 2, 0]], positionWeight: 0))
        let repeating = TokenHistory(prompt: [0, 1, 2, 0, 1], vocabularySize: 3, reserve: 8)
        let fresh = TokenHistory(prompt: [2], vocabularySize: 3, reserve: 8)
        let pair = FallbackDraft(first: NGramDraft(), second: model)

        let alone = try model.proposeWithoutModel(count: 2, history: fresh, sampler: sampler, probabilities: nil)
        XCTAssertEqual(alone.proposed, 0)
        XCTAssertTrue(alone.modelDraft === model)
        let ngram = try pair.proposeWithoutModel(count: 2, history: repeating, sampler: sampler, probabilities: nil)
        XCTAssertEqual(ngram.proposed, 2)
        XCTAssertNil(ngram.modelDraft, "the n-gram table had guesses: no model step")
        XCTAssertEqual(repeating.tokens, [0, 1, 2, 0, 1, 2, 0])
        let fallback = try pair.proposeWithoutModel(count: 2, history: fresh, sampler: sampler, probabilities: nil)
        XCTAssertEqual(fallback.proposed, 0)
        XCTAssertTrue(fallback.modelDraft === model, "no n-gram guess: the model guesses")
        XCTAssertEqual(fresh.tokens, [2])
    }

    func testTruncateUndoesAppendsForThePenalties() {
        let history = TokenHistory(prompt: [1, 2], vocabularySize: 8, reserve: 8)
        history.append(3)
        let before = (history.distinctTokens.sorted(), history.distinctGenerated.sorted())
        for token in [2, 4, 3, 4] { history.append(token) }
        history.truncate(to: 3)
        XCTAssertEqual(history.tokens, [1, 2, 3])
        XCTAssertEqual(history.distinctTokens.sorted(), before.0)
        XCTAssertEqual(history.distinctGenerated.sorted(), before.1)
        // Counts are back too: a frequency penalty sees one 3, none of 2 or 4 generated.
        var parameters = GenerationParameters()
        parameters.frequencyPenalty = 1
        let sampler = Sampler(vocabularySize: 8, parameters: parameters)
        var scores = [Float](repeating: 0, count: 8)
        scores.withUnsafeMutableBufferPointer { sampler.applyPenalties($0.baseAddress!, history: history) }
        XCTAssertEqual(scores, [0, 0, 0, -1, 0, 0, 0, 0])
    }
}
