import Foundation
import XCTest

@testable import Generation

/// Each filter against transformers' LogitsProcessor on recorded rows, and on
/// small hand-computed cases.
final class LogitsProcessorTests: XCTestCase {
    struct Case: Decodable {
        let name: String
        let input_ids: [Int]
        let scores: [Float]
        let expected: [Float?]
    }

    static let cases: [Case] = {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures/GPT2/tiny.reference.json")
        struct File: Decodable { let processors: [Case] }
        return try! JSONDecoder().decode(File.self, from: Data(contentsOf: url)).processors
    }()

    func parameters(for name: String) -> GenerationParameters {
        var p = GenerationParameters()
        p.doSample = true
        switch name {
        case "temperature_0.7": p.temperature = 0.7
        case "top_k_5": p.topK = 5
        case "top_k_50": p.topK = 50
        case "top_p_0.5": p.topP = 0.5
        case "top_p_0.9": p.topP = 0.9
        case "min_p_0.1": p.minP = 0.1
        case "repetition_1.2": p.repetitionPenalty = 1.2
        case "repetition_0.8": p.repetitionPenalty = 0.8
        case "no_repeat_ngram_2": p.noRepeatNgramSize = 2
        case "no_repeat_ngram_3": p.noRepeatNgramSize = 3
        case "children_preset": (p.repetitionPenalty, p.temperature, p.topK, p.topP) = (1.2, 1.0, 50, 0.9)
        case "adult_preset": (p.repetitionPenalty, p.temperature, p.topK, p.topP) = (1.2, 0.3, 50, 0.5)
        default: XCTFail("unknown case \(name)")
        }
        return p
    }

    func testEveryProcessorMatchesTransformers() {
        XCTAssertEqual(Self.cases.count, 12)
        for c in Self.cases {
            let sampler = Sampler(vocabularySize: c.scores.count, parameters: parameters(for: c.name))
            let history = TokenHistory(prompt: c.input_ids, vocabularySize: c.scores.count, reserve: 0)
            var scores = c.scores
            scores.withUnsafeMutableBufferPointer {
                sampler.applyPenalties($0.baseAddress!, history: history)
                sampler.applyWarpers($0.baseAddress!)
            }
            for (i, (mine, theirs)) in zip(scores, c.expected).enumerated() {
                if let theirs {
                    XCTAssertEqual(mine, theirs, accuracy: 1e-5, "\(c.name) index \(i)")
                } else {
                    XCTAssertEqual(mine, -.infinity, "\(c.name) index \(i) should be removed")
                }
            }
        }
    }

    func testTopKKeepsTiesAtTheKthValue() {
        var scores: [Float] = [1, 3, 2, 3, 0]
        var scratch = [Float](repeating: 0, count: 5)
        scores.withUnsafeMutableBufferPointer { s in
            scratch.withUnsafeMutableBufferPointer {
                LogitsProcessors.topK(s.baseAddress!, count: 5, k: 1, scratch: $0.baseAddress!)
            }
        }
        XCTAssertEqual(scores, [-.infinity, 3, -.infinity, 3, -.infinity])
    }

    func testTopPByHand() {
        // probabilities 0.5, 0.25, 0.125, 0.125 → top_p 0.7 keeps the first two
        // (ascending cumulative: 0.125, 0.25, 0.5 <= 0.3 removes the two smallest).
        var scores: [Float] = [log(0.5), log(0.25), log(0.125), log(0.125)]
        var indices = [Int32](repeating: 0, count: 4)
        var probabilities = [Float](repeating: 0, count: 4)
        scores.withUnsafeMutableBufferPointer { s in
            LogitsProcessors.topP(s.baseAddress!, count: 4, p: 0.7, indices: &indices, probabilities: &probabilities)
        }
        XCTAssertEqual(scores[0], log(0.5), accuracy: 1e-6)
        XCTAssertEqual(scores[1], log(0.25), accuracy: 1e-6)
        XCTAssertEqual(scores[2], -.infinity)
        XCTAssertEqual(scores[3], -.infinity)
    }

    func testMinPByHand() {
        // p = 0.6, 0.3, 0.1: min_p 0.2 cuts below 0.12.
        var scores: [Float] = [log(0.6), log(0.3), log(0.1)]
        scores.withUnsafeMutableBufferPointer { LogitsProcessors.minP($0.baseAddress!, count: 3, minP: 0.2) }
        XCTAssertEqual(scores[2], -.infinity)
        XCTAssertTrue(scores[0].isFinite && scores[1].isFinite)
    }

    func testPresenceAndFrequencyFollowOpenAI() {
        let history = TokenHistory(prompt: [7], vocabularySize: 4, reserve: 4)
        history.append(1)
        history.append(1)
        history.append(2)
        var p = GenerationParameters()
        p.presencePenalty = 0.5
        p.frequencyPenalty = 0.25
        let sampler = Sampler(vocabularySize: 4, parameters: p)
        var scores: [Float] = [1, 1, 1, 1]
        scores.withUnsafeMutableBufferPointer { sampler.applyPenalties($0.baseAddress!, history: history) }
        // token 1 twice: 1 - 2·0.25 - 0.5; token 2 once: 1 - 0.25 - 0.5; the prompt's token is not penalized.
        XCTAssertEqual(scores, [1, 0, 0.25, 1])
    }

    func testRepetitionPenaltyByHand() {
        var scores: [Float] = [2, -2, 2]
        scores.withUnsafeMutableBufferPointer {
            LogitsProcessors.repetitionPenalty($0.baseAddress!, distinctTokens: [0, 1], penalty: 2)
        }
        XCTAssertEqual(scores, [1, -4, 2])
    }

    func testNoRepeatNgramByHand() {
        var scores: [Float] = [0, 0, 0, 0]
        // "1 2 3 1" with n = 2: the prefix is [1], which was followed by 2 → ban 2.
        scores.withUnsafeMutableBufferPointer {
            LogitsProcessors.noRepeatNgram($0.baseAddress!, tokens: [1, 2, 3, 1][...], size: 2)
        }
        XCTAssertEqual(scores, [0, 0, -.infinity, 0])
    }

    func testKthLargestMatchesSorting() {
        var random = RandomSource(seed: 7)
        for trial in 0..<200 {
            let n = 1 + Int(random.next() % 300)
            var values = (0..<n).map { _ in Float(Int(random.next() % 50)) }
            let k = 1 + Int(random.next() % UInt64(n))
            let expected = values.sorted(by: >)[k - 1]
            let got = values.withUnsafeMutableBufferPointer {
                LogitsProcessors.kthLargest($0.baseAddress!, count: n, k: k)
            }
            XCTAssertEqual(got, expected, "trial \(trial)")
        }
    }
}
