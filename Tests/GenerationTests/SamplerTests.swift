import Foundation
import XCTest

@testable import Generation

final class SamplerTests: XCTestCase {
    func testDrawFollowsTheDistribution() {
        var p = GenerationParameters()
        p.doSample = true
        p.seed = 1
        let sampler = Sampler(vocabularySize: 3, parameters: p)
        let scores: [Float] = [log(0.2), log(0.5), log(0.3)]
        var counts = [0, 0, 0]
        for _ in 0..<20_000 { counts[scores.withUnsafeBufferPointer { sampler.draw($0.baseAddress!) }] += 1 }
        XCTAssertEqual(Double(counts[0]) / 20_000, 0.2, accuracy: 0.015)
        XCTAssertEqual(Double(counts[1]) / 20_000, 0.5, accuracy: 0.015)
        XCTAssertEqual(Double(counts[2]) / 20_000, 0.3, accuracy: 0.015)
    }

    func testRemovedTokensAreNeverDrawn() {
        var p = GenerationParameters()
        p.doSample = true
        p.seed = 3
        p.topK = 2
        let sampler = Sampler(vocabularySize: 4, parameters: p)
        let history = TokenHistory(prompt: [0], vocabularySize: 4, reserve: 0)
        for _ in 0..<2000 {
            var scores: [Float] = [0.1, 2, 1.9, -3]
            let token = scores.withUnsafeMutableBufferPointer { sampler.choose($0.baseAddress!, history: history) }
            XCTAssertTrue(token == 1 || token == 2)
        }
    }

    func testSameSeedSameStream() {
        var a = RandomSource(seed: 99)
        var b = RandomSource(seed: 99)
        var c = RandomSource(seed: 100)
        let first = (0..<10).map { _ in a.next() }
        XCTAssertEqual(first, (0..<10).map { _ in b.next() })
        XCTAssertNotEqual(first, (0..<10).map { _ in c.next() })
    }

    func testGreedyTakesTheFirstMaximum() {
        XCTAssertEqual(LogitsProcessors.argmax([1, 5, 5, 2], count: 4), 1)
    }

    func testTemperatureZeroIsGreedy() {
        var p = GenerationParameters()
        p.doSample = true
        p.temperature = 0
        XCTAssertTrue(p.isGreedy)
        let sampler = Sampler(vocabularySize: 3, parameters: p)
        var scores: [Float] = [1, 3, 2]
        XCTAssertEqual(
            scores.withUnsafeMutableBufferPointer {
                sampler.choose($0.baseAddress!, history: TokenHistory(prompt: [0], vocabularySize: 3, reserve: 0))
            }, 1)
    }

    func testInvalidParametersAreRejectedWithTheirName() {
        var p = GenerationParameters()
        p.temperature = .nan
        XCTAssertThrowsError(try p.validate()) { XCTAssertTrue("\($0)".contains("temperature")) }
        p = GenerationParameters()
        p.topP = 0
        XCTAssertThrowsError(try p.validate()) { XCTAssertTrue("\($0)".contains("top_p")) }
        p = GenerationParameters()
        p.maxNewTokens = -1
        XCTAssertThrowsError(try p.validate()) { XCTAssertTrue("\($0)".contains("max_new_tokens")) }
        p = GenerationParameters()
        p.stopStrings = [""]
        XCTAssertThrowsError(try p.validate())
    }
}
