import Foundation
import Tokenizer
import XCTest

@testable import Generation

/// A model over a tiny vocabulary whose logits depend on the token read and its position, so
/// that exact output probabilities can be enumerated (and a cache rolled back to the wrong
/// length would show as the wrong distribution).
final class PositionalMarkovModel: CausalLanguageModel {
    let table: [[Float]]
    let positionWeight: Float
    var vocabularySize: Int { table.count }
    let maxPositions = 64
    var writesLogitsForEveryToken: Bool { true }

    init(table: [[Float]], positionWeight: Float) {
        self.table = table
        self.positionWeight = positionWeight
    }

    func makeCache(capacity: Int) -> KVCache { KVCache(layers: 1, heads: 1, headDim: 1, capacity: capacity) }

    /// The logits after reading `token` at `position`.
    func logits(after token: Int, at position: Int, into row: UnsafeMutablePointer<Float>) {
        for i in 0..<vocabularySize { row[i] = table[token][i] + positionWeight * sinf(Float(position * (i + 1))) }
    }

    func forward(_ steps: [SequenceStep], logits: UnsafeMutablePointer<Float>) throws {
        var row = 0
        for step in steps {
            let first = step.logitsForEveryToken ? 0 : step.tokens.count - 1
            for j in first..<step.tokens.count {
                self.logits(
                    after: step.tokens[step.tokens.startIndex + j], at: step.cache.length + j,
                    into: logits + row * vocabularySize)
                row += 1
            }
            step.cache.advance(by: step.tokens.count)
        }
    }
}

/// With sampling, speculative decoding's output is distributed exactly as the target's:
/// chi-square against the enumerated distribution over every 4-token continuation.
final class SpeculativeSamplingTests: XCTestCase {
    struct Letters: Tokenizer {
        let vocabularySize = 3
        let specialTokenIDs: Set<Int> = []
        func encode(_ text: String) -> [Int] { [] }
        func decode(_ ids: [Int], skipSpecialTokens: Bool) -> String { "" }
        func bytes(forToken id: Int, isFirst: Bool) -> [UInt8]? { [UInt8(97 + id)] }
    }

    let target = PositionalMarkovModel(
        table: [[0.2, 1.0, -0.3], [0.9, -0.2, 0.4], [-0.1, 0.3, 0.8]], positionWeight: 0.4)
    /// Disagrees with the target often, so that rejections and corrections are exercised.
    let draft = PositionalMarkovModel(
        table: [[1.2, -0.4, 0.1], [-0.3, 0.2, 1.1], [0.6, 0.7, -0.8]], positionWeight: -0.3)
    let prompt = [2, 0]
    let newTokens = 4
    let runs = 12_000

    func parameters(_ configure: (inout GenerationParameters) -> Void) -> GenerationParameters {
        var p = GenerationParameters()
        p.doSample = true
        p.maxNewTokens = newTokens
        configure(&p)
        return p
    }

    /// P(continuation) under the target with the sampler's processors, for every continuation.
    func exactDistribution(_ parameters: GenerationParameters) -> [Double] {
        let v = target.vocabularySize
        let cells = Int(pow(Double(v), Double(newTokens)))
        let sampler = Sampler(vocabularySize: v, parameters: parameters)
        let row = UnsafeMutablePointer<Float>.allocate(capacity: v)
        let probabilities = UnsafeMutablePointer<Float>.allocate(capacity: v)
        defer {
            row.deallocate()
            probabilities.deallocate()
        }
        return (0..<cells).map { cell in
            let tokens = digits(cell)
            let history = TokenHistory(prompt: prompt, vocabularySize: v, reserve: newTokens)
            var p = 1.0
            for token in tokens {
                target.logits(after: history.tokens.last!, at: history.tokens.count - 1, into: row)
                sampler.applyPenalties(row, history: history)
                sampler.applyWarpers(row)
                SpeculativeSampling.probabilities(out: probabilities, scores: row, count: v)
                p *= Double(probabilities[token])
                history.append(token)
            }
            return p
        }
    }

    func digits(_ cell: Int) -> [Int] {
        var rest = cell
        return (0..<newTokens).map { _ in
            defer { rest /= target.vocabularySize }
            return rest % target.vocabularySize
        }
    }

    func cell(_ tokens: [Int]) -> Int { tokens.reversed().reduce(0) { $0 * target.vocabularySize + $1 } }

    /// Pearson's statistic over the cells the target can reach, and whether an unreachable
    /// cell was ever produced.
    func chiSquare(observed: [Int], expected: [Double]) -> (statistic: Double, cells: Int, impossible: Int) {
        var statistic = 0.0
        var cells = 0
        var impossible = 0
        for (o, p) in zip(observed, expected) {
            if p == 0 {
                impossible += o
                continue
            }
            let e = p * Double(runs)
            statistic += (Double(o) - e) * (Double(o) - e) / e
            cells += 1
        }
        return (statistic, cells, impossible)
    }

    /// The chi-square quantile at 1 - 1e-6 (Wilson-Hilferty), conservative so a correct
    /// sampler fails about once in a million seeds budgets.
    func threshold(degreesOfFreedom k: Int) -> Double {
        let z = 4.753
        let a = 2 / (9 * Double(k))
        return Double(k) * pow(1 - a + z * a.squareRoot(), 3)
    }

    func histogram(_ generate: (UInt64) throws -> [Int]) rethrows -> [Int] {
        var observed = [Int](repeating: 0, count: Int(pow(Double(target.vocabularySize), Double(newTokens))))
        for seed in 0..<UInt64(runs) { observed[cell(try generate(seed))] += 1 }
        return observed
    }

    func check(_ configure: (inout GenerationParameters) -> Void, name: String) throws {
        let expected = exactDistribution(parameters(configure))
        XCTAssertEqual(expected.reduce(0, +), 1, accuracy: 1e-5)
        let decoder = try SpeculativeDecoder(
            target: target, draft: ModelDraft(model: draft), tokenizer: Letters(), draftTokens: 2)
        var proposed = 0
        var accepted = 0
        let speculative = try histogram { seed in
            var p = parameters(configure)
            p.seed = seed
            let result = try decoder.generate(promptIDs: prompt, parameters: p)
            proposed += result.statistics.proposedTokens
            accepted += result.statistics.acceptedTokens
            return result.generation.generatedIDs
        }
        let fit = chiSquare(observed: speculative, expected: expected)
        XCTAssertEqual(fit.impossible, 0, "\(name): produced a continuation the target's filters rule out")
        XCTAssertLessThan(fit.statistic, threshold(degreesOfFreedom: fit.cells - 1), name)
        XCTAssertGreaterThan(
            proposed - accepted, runs / 4,
            "\(name): rejections must be common for the test to "
                + "mean anything")
        XCTAssertGreaterThan(accepted, runs / 4, name)

        // The same test on the draft's own samples fails: it can tell the two distributions apart.
        let plainDraft = TextGenerator(model: draft, tokenizer: Letters())
        let drafted = try histogram { seed in
            var p = parameters(configure)
            p.seed = seed
            return try plainDraft.generate(promptIDs: prompt, parameters: p).generatedIDs
        }
        let control = chiSquare(observed: drafted, expected: expected)
        XCTAssertTrue(
            control.impossible > 0 || control.statistic > threshold(degreesOfFreedom: fit.cells - 1),
            "\(name): the draft's distribution passed for the target's; the test has no power")
    }

    func testTemperatureAndRepetitionPenaltyKeepTheTargetDistribution() throws {
        try check(
            {
                $0.temperature = 0.8
                $0.repetitionPenalty = 1.3
            }, name: "temperature 0.8, repetition 1.3")
    }

    func testTopKKeepsTheTargetDistribution() throws {
        try check(
            {
                $0.topK = 2
                $0.temperature = 1.2
            }, name: "top-k 2")
    }

    func testTopPAndFrequencyPenaltyKeepTheTargetDistribution() throws {
        try check(
            {
                $0.topP = 0.8
                $0.frequencyPenalty = 0.5
            }, name: "top-p 0.8, frequency 0.5")
    }

    func testResidualDrawNeverPicksTheRejectedSurplus() {
        var p: [Float] = [0.5, 0.3, 0.2]
        var q: [Float] = [0.7, 0.1, 0.2]
        // max(0, p - q) = [0, 0.2, 0]: only token 1 can come out of a rejection.
        for u in stride(from: 0.0, to: 1.0, by: 0.05) {
            XCTAssertEqual(SpeculativeSampling.drawResidual(target: &p, draft: &q, count: 3, uniform: u), 1)
        }
        XCTAssertTrue(SpeculativeSampling.accepts(0, target: &p, draft: &q, uniform: 0.7))  // 0.7 < 0.5/0.7
        XCTAssertFalse(SpeculativeSampling.accepts(0, target: &p, draft: &q, uniform: 0.72))
    }
}
