import Foundation
import Generation
import Tensor
import XCTest
import NLLB

/// Target tokens per second at NLLB-200-distilled-600M's shapes, the setting of
/// /work/shared/MEASURED.md (40-token sources, 64 target tokens, 2 threads).
/// Skipped unless NLLB_BENCH_MODEL names a folder (scripts/bench/make_random_nllb.py);
/// meaningful only in release mode (see that script).
final class M2M100BenchmarkTests: XCTestCase {
    func testTargetTokensPerSecond() throws {
        guard let path = ProcessInfo.processInfo.environment["NLLB_BENCH_MODEL"] else {
            throw XCTSkip("set NLLB_BENCH_MODEL to a model folder to time translation")
        }
        let loadStart = Date()
        let translator = try M2M100Translator(directory: URL(fileURLWithPath: path))
        print(String(format: "load: %.2f s", Date().timeIntervalSince(loadStart)))
        let config = translator.model.config
        func sentence(_ seed: Int) -> [Int] {
            [256047] + (0..<38).map { 1000 + ($0 * 7919 + seed * 104729) % 200000 } + [config.eosTokenID]
        }
        // NLLB_BENCH_CASES="1x1,4x16" (beams x batch) picks cases; NLLB_BENCH_THREADS the BLAS threads.
        let cases = (ProcessInfo.processInfo.environment["NLLB_BENCH_CASES"] ?? "1x1,1x16,4x1,4x16")
            .split(separator: ",").map { $0.split(separator: "x").map { Int($0)! } }
        setBLASThreads(Int(ProcessInfo.processInfo.environment["NLLB_BENCH_THREADS"] ?? "2") ?? 2)
        for c in cases {
            let (beams, batch) = (c[0], c[1])
            var parameters = translator.defaultParameters(targetLanguageID: 256057)
            parameters.numBeams = beams
            parameters.generation.maxNewTokens = 64
            parameters.generation.eosTokenIDs = []  // every sentence runs its 64 tokens, as the peers were timed
            let sources = (0..<batch).map(sentence)
            let start = Date()
            let result = try translator.translate(sources, targetLanguageID: 256057, parameters: parameters)
            let seconds = Date().timeIntervalSince(start)
            let tokens = result.timings.targetTokens
            print(String(format: "beams %d batch %2d: %4d target tokens in %.2f s = %.1f tok/s (encode %.0f ms, decode %.0f ms)",
                         beams, batch, tokens, seconds, Double(tokens) / seconds, result.timings.encodeMs, result.timings.decodeMs))
            XCTAssertEqual(tokens, 64 * batch)
        }
    }
}
