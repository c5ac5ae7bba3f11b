import Foundation
import XCTest
@testable import Tokenizer

/// Encoding speed on the hard corpus repeated, printed and never asserted (machines vary).
/// Debug builds encode a small sample so that the suite stays fast; for the real figure:
///
///     swift test -c release -Xswiftc -enable-testing --filter ThroughputTests
///
/// Set TOKENIZER_BENCH_FILE to a UTF-8 file to measure on that text instead (a repeated
/// corpus flatters the per-call word cache).
final class ThroughputTests: XCTestCase {
    func testEncodingThroughput() {
        #if DEBUG
        let targetBytes = 32 * 1024
        #else
        let targetBytes = 5 * 1024 * 1024
        #endif
        let tokenizer = Fixtures.gpt2FromTokenizerJSON
        let text: String
        if let path = ProcessInfo.processInfo.environment["TOKENIZER_BENCH_FILE"],
           let data = FileManager.default.contents(atPath: path) {
            text = String(decoding: data, as: UTF8.self)
        } else {
            let corpus = Fixtures.corpusText + "\n"
            text = String(repeating: corpus, count: max(1, targetBytes / corpus.utf8.count))
        }
        let megabytes = Double(text.utf8.count) / 1_000_000

        // The corpus repeated as one string, and as its lines (many short calls, like prompts).
        // Timed in thread CPU time: wall time is meaningless on a busy 2-core machine.
        var start = Self.threadCPUTime()
        let ids = tokenizer.encode(text)
        let wholeSeconds = Self.threadCPUTime() - start

        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        start = Self.threadCPUTime()
        var count = 0
        for line in lines { count += tokenizer.encode(line).count }
        let lineSeconds = Self.threadCPUTime() - start

        start = Self.threadCPUTime()
        let decoded = tokenizer.decode(ids, skipSpecialTokens: false)
        let decodeSeconds = Self.threadCPUTime() - start

        XCTAssertGreaterThan(count, 0)
        XCTAssertEqual(decoded.utf8.count, text.utf8.count)
        print(String(format: "Tokenizer throughput on %.2f MB (per CPU second): encode %.1f MB/s (one string), %.1f MB/s (%d lines), decode %.1f MB/s, %d ids",
                     megabytes, megabytes / wholeSeconds, megabytes / lineSeconds, lines.count, megabytes / decodeSeconds, ids.count))
    }

    func testLoadingTime() throws {
        #if DEBUG
        throw XCTSkip("a debug build's loading time means nothing; run in release")
        #endif
        var start = Self.threadCPUTime()
        _ = try ByteLevelBPETokenizer(vocabularyURL: Fixtures.gpt2Directory.appendingPathComponent("vocab.json"),
                                      mergesURL: Fixtures.gpt2Directory.appendingPathComponent("merges.txt"))
        let vocabAndMerges = Self.threadCPUTime() - start
        start = Self.threadCPUTime()
        _ = try ByteLevelBPETokenizer(tokenizerJSONURL: Fixtures.gpt2Directory.appendingPathComponent("tokenizer.json"))
        let tokenizerJSON = Self.threadCPUTime() - start
        print(String(format: "GPT-2 tokenizer load (CPU time): vocab.json+merges.txt %.0f ms, tokenizer.json %.0f ms",
                     vocabAndMerges * 1000, tokenizerJSON * 1000))
    }

    private static func threadCPUTime() -> Double {
        var time = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &time)
        return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
    }
}
