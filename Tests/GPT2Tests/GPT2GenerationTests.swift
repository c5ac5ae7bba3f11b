import Foundation
import Generation
import Tokenizer
import XCTest

@testable import GPT2

/// Greedy continuations against transformers' `generate()` on the tiny fixtures.
final class GPT2GenerationTests: XCTestCase {
    func generator(_ name: String) throws -> TextGenerator {
        TextGenerator(
            model: try GPT2Model(directory: Fixtures.model(name)), tokenizer: NumberTokenizer(vocabularySize: 513))
    }

    func greedy(maxNewTokens: Int) -> GenerationParameters {
        var p = GenerationParameters()
        p.maxNewTokens = maxNewTokens
        p.doSample = false
        return p
    }

    func testGreedyIdsMatchTransformersExactly() throws {
        for name in ["tiny", "tiny-f16", "tiny-bf16", "variant"] {
            let generator = try generator(name)
            let ref = try Fixtures.reference(name)
            for prompt in ref.prompts {
                let result = try generator.generate(
                    promptIDs: prompt.ids, parameters: greedy(maxNewTokens: ref.greedy_max_new_tokens))
                XCTAssertEqual(result.generatedIDs, prompt.greedy, "\(name): \(prompt.text)")
                XCTAssertEqual(result.finishReason, .length)
            }
        }
    }

    func testRepetitionPenaltyAndNoRepeatNgramMatchTransformers() throws {
        let generator = try generator("tiny")
        let ref = try Fixtures.reference("tiny")
        var parameters = greedy(maxNewTokens: ref.greedy_max_new_tokens)
        parameters.repetitionPenalty = 1.3
        parameters.noRepeatNgramSize = 2
        for prompt in ref.prompts {
            let result = try generator.generate(promptIDs: prompt.ids, parameters: parameters)
            XCTAssertEqual(result.generatedIDs, prompt.greedy_penalized, prompt.text)
        }
    }

    func testStopsOnEOSAndIncludesIt() throws {
        let generator = try generator("tiny")
        let ref = try Fixtures.reference("tiny")
        var parameters = greedy(maxNewTokens: ref.greedy_max_new_tokens)
        parameters.eosTokenIDs = [31]  // the fixture script's stand-in EOS
        for prompt in ref.prompts {
            let result = try generator.generate(promptIDs: prompt.ids, parameters: parameters)
            XCTAssertEqual(result.generatedIDs, prompt.greedy_until_eos, prompt.text)
            XCTAssertEqual(result.finishReason, result.generatedIDs.last == 31 ? .eos : .length)
        }
    }

    func testMaxLengthCountsThePrompt() throws {
        let generator = try generator("tiny")
        let prompt = try Fixtures.reference("tiny").prompts[0]
        var parameters = GenerationParameters()
        parameters.maxLength = prompt.ids.count + 5
        let result = try generator.generate(promptIDs: prompt.ids, parameters: parameters)
        XCTAssertEqual(result.generatedIDs, Array(prompt.greedy.prefix(5)))
    }

    func testContextOverflowIsAnErrorBeforeAnyWork() throws {
        let generator = try generator("tiny")  // n_positions 64
        var parameters = greedy(maxNewTokens: 60)
        XCTAssertThrowsError(try generator.generate(promptIDs: Array(repeating: 5, count: 10), parameters: parameters))
        { error in
            XCTAssertEqual(
                error as? GenerationError, .contextOverflow(promptTokens: 10, requestedNewTokens: 60, maxPositions: 64))
            XCTAssertTrue("\(error)".contains("at most 54 new tokens"))
        }
        parameters.maxNewTokens = 1
        XCTAssertThrowsError(try generator.generate(promptIDs: Array(repeating: 5, count: 70), parameters: parameters))
        { error in
            XCTAssertEqual(
                error as? GenerationError, .contextOverflow(promptTokens: 70, requestedNewTokens: 1, maxPositions: 64))
        }
    }

    func testKeepRecentSlidesPastTheContext() throws {
        let generator = try generator("tiny")
        var parameters = greedy(maxNewTokens: 100)
        parameters.contextOverflow = .keepRecent
        let result = try generator.generate(promptIDs: Array(repeating: 5, count: 70), parameters: parameters)
        XCTAssertEqual(result.generatedIDs.count, 100)
        XCTAssertEqual(result.finishReason, .length)
    }

    func testSeededSamplingIsReproducible() throws {
        let generator = try generator("tiny")
        let prompt = try Fixtures.reference("tiny").prompts[1].ids
        var parameters = greedy(maxNewTokens: 30)
        parameters.doSample = true
        parameters.topK = 50
        parameters.topP = 0.9
        parameters.temperature = 1.2
        parameters.seed = 42
        let a = try generator.generate(promptIDs: prompt, parameters: parameters)
        let b = try generator.generate(promptIDs: prompt, parameters: parameters)
        XCTAssertEqual(a.generatedIDs, b.generatedIDs)
        XCTAssertEqual(a.seed, 42)
        parameters.seed = 43
        let c = try generator.generate(promptIDs: prompt, parameters: parameters)
        XCTAssertNotEqual(a.generatedIDs, c.generatedIDs)
    }

    func testCancellingFromTheCallbackStops() throws {
        let generator = try generator("tiny")
        var seen = 0
        let result = try generator.generate(promptIDs: [1, 2, 3], parameters: greedy(maxNewTokens: 20)) { _ in
            seen += 1
            return seen < 4
        }
        XCTAssertEqual(result.generatedIDs.count, 4)
        XCTAssertEqual(result.finishReason, .cancelled)
    }

    func testAsyncStreamDeliversEveryToken() async throws {
        let generator = try generator("tiny")
        let prompt = try Fixtures.reference("tiny").prompts[0]
        var tokens: [Int] = []
        for try await step in generator.stream(promptIDs: prompt.ids, parameters: greedy(maxNewTokens: 10)) {
            tokens.append(step.token)
        }
        XCTAssertEqual(tokens, Array(prompt.greedy.prefix(10)))
    }
}

/// A tokenizer whose text for id n is "<n>": lets id-level tests read the text path.
struct NumberTokenizer: Tokenizer {
    let vocabularySize: Int
    var specialTokenIDs: Set<Int> { [vocabularySize - 1] }
    func encode(_ text: String) -> [Int] { [] }
    func decode(_ ids: [Int], skipSpecialTokens: Bool) -> String {
        ids.filter { !skipSpecialTokens || !specialTokenIDs.contains($0) }.map { "<\($0)>" }.joined()
    }
    func bytes(forToken id: Int, isFirst: Bool) -> [UInt8]? { Array("<\(id)>".utf8) }
}
