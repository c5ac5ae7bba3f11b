import Foundation
import Tokenizer
import XCTest

@testable import Generation

/// `GenerationSequence` reports the chosen token's log-probability and the top alternatives.
final class LogprobTests: XCTestCase {
    /// Every id stands for one letter; nothing is special.
    struct LetterTokenizer: Tokenizer {
        let vocabularySize = 4
        let specialTokenIDs: Set<Int> = []
        func encode(_ text: String) -> [Int] { text.utf8.map { Int($0) % 4 } }
        func decode(_ ids: [Int], skipSpecialTokens: Bool) -> String {
            ids.map { String(UnicodeScalar(UInt8(97 + $0))) }.joined()
        }
        func bytes(forToken id: Int, isFirst: Bool) -> [UInt8]? { (0..<4).contains(id) ? [UInt8(97 + id)] : nil }
    }

    func makeSequence(topLogprobs: Int) throws -> GenerationSequence {
        var parameters = GenerationParameters()
        parameters.maxNewTokens = 2
        return try GenerationSequence(
            promptIDs: [0], parameters: parameters, tokenizer: LetterTokenizer(),
            vocabularySize: 4, maxPositions: 16, topLogprobs: topLogprobs)
    }

    func testTopLogprobsAreTheMostLikelyTokensInOrder() throws {
        let sequence = try makeSequence(topLogprobs: 2)
        var logits: [Float] = [1, 3, 2, 0]
        let step = logits.withUnsafeMutableBufferPointer { sequence.advance(logits: $0.baseAddress!) }
        let normalizer = log([1, 3, 2, 0].map { exp(Double($0)) }.reduce(0, +))
        XCTAssertEqual(step.token, 1)
        XCTAssertEqual(Double(step.logprob ?? 0), 3 - normalizer, accuracy: 1e-5)
        XCTAssertEqual(step.topLogprobs.map(\.token), [1, 2])
        XCTAssertEqual(Double(step.topLogprobs[1].logprob), 2 - normalizer, accuracy: 1e-5)
    }

    func testTokensRemovedByFiltersAreNotAlternatives() throws {
        let sequence = try makeSequence(topLogprobs: 4)
        var logits: [Float] = [-.infinity, 3, -.infinity, 0]
        let step = logits.withUnsafeMutableBufferPointer { sequence.advance(logits: $0.baseAddress!) }
        XCTAssertEqual(step.topLogprobs.map(\.token), [1, 3])
    }

    func testNoLogprobsUnlessAsked() throws {
        var parameters = GenerationParameters()
        parameters.maxNewTokens = 1
        let sequence = try GenerationSequence(
            promptIDs: [0], parameters: parameters, tokenizer: LetterTokenizer(),
            vocabularySize: 4, maxPositions: 16)
        var logits: [Float] = [1, 3, 2, 0]
        let step = logits.withUnsafeMutableBufferPointer { sequence.advance(logits: $0.baseAddress!) }
        XCTAssertNil(step.logprob)
        XCTAssertTrue(step.topLogprobs.isEmpty)
    }
}
