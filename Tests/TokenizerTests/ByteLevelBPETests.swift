import Foundation
import XCTest

@testable import Tokenizer

/// The real GPT-2 tokenizer against Hugging Face's GPT2TokenizerFast on the hard corpus.
final class ByteLevelBPETests: XCTestCase {
    private var lineEntries: [[String: Any]] { Fixtures.gpt2Expected["lines"] as! [[String: Any]] }

    func testCorpusFixtureIsIntact() {
        XCTAssertEqual(
            Fixtures.corpusLines.count, Fixtures.gpt2Expected["line_count"] as? Int,
            "hard-corpus.txt changed (line endings converted?) since gpt2-expected.json was written")
        XCTAssertEqual(lineEntries.count, Fixtures.corpusLines.count)
    }

    func testEveryCorpusLineMatchesHFFromVocabAndMerges() {
        assertCorpusLines(Fixtures.gpt2FromVocabAndMerges)
    }

    func testEveryCorpusLineMatchesHFFromTokenizerJSON() {
        assertCorpusLines(Fixtures.gpt2FromTokenizerJSON)
    }

    private func assertCorpusLines(
        _ tokenizer: ByteLevelBPETokenizer, file: StaticString = #filePath, line: UInt = #line
    ) {
        var failures = 0
        for (index, entry) in lineEntries.enumerated() {
            let text = Fixtures.corpusLines[index]
            let got = tokenizer.encode(text)
            let want = ints(entry["ids"])
            if got != want {
                failures += 1
                XCTFail(
                    "corpus line \(index + 1) \(text.debugDescription): got \(got), HF \(want)", file: file, line: line)
            }
            if failures > 10 { return }
        }
    }

    func testWholeCorpusAsOneStringMatchesHF() {
        let want = ints(Fixtures.gpt2Expected["whole_corpus_ids"])
        XCTAssertEqual(Fixtures.gpt2FromVocabAndMerges.encode(Fixtures.corpusText), want)
        XCTAssertEqual(Fixtures.gpt2FromTokenizerJSON.encode(Fixtures.corpusText), want)
    }

    /// Random mixes of tricky pieces and of scalars from every plane (unassigned, private
    /// use, newer than the reference's Unicode...).
    func testRandomStringsMatchHF() {
        let entries = Fixtures.gpt2Expected["fuzz"] as! [[String: Any]]
        XCTAssertEqual(entries.count, 500)
        for tokenizer in [Fixtures.gpt2FromVocabAndMerges, Fixtures.gpt2FromTokenizerJSON] {
            var failures = 0
            for entry in entries {
                let text = entry["text"] as! String
                let ids = tokenizer.encode(text)
                if ids != ints(entry["ids"]) {
                    failures += 1
                    if failures <= 5 { XCTFail("\(text.debugDescription): got \(ids), HF \(ints(entry["ids"]))") }
                }
                XCTAssertSameScalars(tokenizer.decode(ids, skipSpecialTokens: false), text)
            }
        }
    }

    /// Where GPT2Tokenizer (slow, Python `regex`) and GPT2TokenizerFast disagree, we follow
    /// the fast one: a scalar assigned after the fast tokenizer's Unicode tables (U+A7CE)
    /// is a letter for `regex`, so "'s" after it is a contraction there, and punctuation here.
    func testSlowTokenizerDisagreementsFollowTheFastOne() {
        let disagreeing = Fixtures.gpt2Expected["slow_disagreement_lines"] as! [Int]
        XCTAssertFalse(disagreeing.isEmpty)
        for number in disagreeing {
            let entry = lineEntries[number - 1]
            let ours = Fixtures.gpt2FromVocabAndMerges.encode(Fixtures.corpusLines[number - 1])
            XCTAssertEqual(ours, ints(entry["ids"]))
            XCTAssertNotEqual(ours, ints(entry["slow_ids"]))
        }
        let tokenizer = Fixtures.gpt2FromVocabAndMerges
        XCTAssertEqual(tokenizer.encode("\u{A7CE}'s").suffix(2).map { tokenizer.token(forID: $0) }, ["'", "s"])
        XCTAssertEqual(tokenizer.encode("\u{E9}'s").suffix(1).map { tokenizer.token(forID: $0) }, ["'s"])
    }

    func testDecodeIsTheInverseOfEncodeOnTheCorpus() {
        for tokenizer in [Fixtures.gpt2FromVocabAndMerges, Fixtures.gpt2FromTokenizerJSON] {
            for text in Fixtures.corpusLines + [Fixtures.corpusText] {
                XCTAssertSameScalars(tokenizer.decode(tokenizer.encode(text), skipSpecialTokens: false), text)
            }
        }
    }

    func testDecodeVariantsMatchHF() {
        let tokenizer = Fixtures.gpt2FromVocabAndMerges
        XCTAssertEqual(Fixtures.gpt2Expected["clean_up_tokenization_spaces_default"] as? Bool, false)
        XCTAssertFalse(tokenizer.cleanUpTokenizationSpaces)
        var checkedSkip = 0
        var checkedCleanUp = 0
        for (index, entry) in lineEntries.enumerated() {
            let ids = ints(entry["ids"])
            let plain = (entry["decoded"] as? String) ?? Fixtures.corpusLines[index]
            let skip = (entry["decoded_skip_special"] as? String) ?? plain
            let cleaned = (entry["decoded_clean_up"] as? String) ?? plain
            XCTAssertSameScalars(tokenizer.decode(ids, skipSpecialTokens: false), plain, "line \(index + 1)")
            XCTAssertSameScalars(tokenizer.decode(ids, skipSpecialTokens: true), skip, "line \(index + 1)")
            XCTAssertSameScalars(
                tokenizer.decode(ids, cleanUpTokenizationSpaces: true), cleaned,
                "line "
                    + "\(index + 1)")
            if entry["decoded_skip_special"] != nil { checkedSkip += 1 }
            if entry["decoded_clean_up"] != nil { checkedCleanUp += 1 }
        }
        XCTAssertGreaterThan(checkedSkip, 10)
        XCTAssertGreaterThan(checkedCleanUp, 10)
    }

    func testVocabularyFacts() {
        for tokenizer in [Fixtures.gpt2FromVocabAndMerges, Fixtures.gpt2FromTokenizerJSON] {
            XCTAssertEqual(tokenizer.vocabularySize, 50257)
            XCTAssertEqual(tokenizer.specialTokenIDs, [50256])
            XCTAssertEqual(tokenizer.id(forToken: "<|endoftext|>"), 50256)
            XCTAssertEqual(tokenizer.id(forToken: "Ġthe"), 262)
            XCTAssertEqual(tokenizer.token(forID: 262), "Ġthe")
            XCTAssertNil(tokenizer.token(forID: 50257))
            XCTAssertEqual(tokenizer.bytes(forToken: 262, isFirst: true), Array(" the".utf8))
            XCTAssertNil(tokenizer.bytes(forToken: -1, isFirst: false))
            XCTAssertEqual(tokenizer.encode("Hello world"), [15496, 995])
            XCTAssertEqual(tokenizer.encode(""), [])
        }
    }

    func testLoadDirectoryPrefersTokenizerJSONAndMatchesHF() throws {
        let tokenizer = try ByteLevelBPETokenizer.load(directory: Fixtures.gpt2Directory)
        XCTAssertEqual(tokenizer.vocabularySize, 50257)
        XCTAssertEqual(tokenizer.specialTokenIDs, [50256])
        XCTAssertEqual(tokenizer.encode(Fixtures.corpusText), ints(Fixtures.gpt2Expected["whole_corpus_ids"]))
    }

    /// Long words take the heap-based merge loop; forcing it everywhere must not change ids.
    func testHeapMergeLoopAgreesWithScanningLoop() {
        let tokenizer = Fixtures.gpt2FromVocabAndMerges
        for (index, text) in Fixtures.corpusLines.enumerated() {
            var ids: [Int] = []
            var scratch = BPEScratch()
            scratch.forceHeap = true
            var copy = text
            copy.withUTF8 { buffer in
                // No added token in these lines: encode the text directly.
                guard !text.contains("<|endoftext|>") else { return }
                tokenizer.encodeText(buffer, from: 0, to: buffer.count, into: &ids, scratch: &scratch)
                XCTAssertEqual(ids, ints(lineEntries[index]["ids"]), "line \(index + 1)")
            }
        }
    }

    /// One word cache shared by all corpus lines (so lines hit entries other lines made)
    /// must give the uncached ids.
    func testWordCacheGivesTheSameIds() {
        let tokenizer = Fixtures.gpt2FromVocabAndMerges
        var scratch = BPEScratch()
        scratch.useCache = true
        for _ in 0..<2 {
            for (index, text) in Fixtures.corpusLines.enumerated() where !text.contains("<|endoftext|>") {
                var ids: [Int] = []
                var copy = text
                copy.withUTF8 { buffer in
                    tokenizer.encodeText(buffer, from: 0, to: buffer.count, into: &ids, scratch: &scratch)
                }
                XCTAssertEqual(ids, ints(lineEntries[index]["ids"]), "line \(index + 1)")
            }
        }
        XCTAssertGreaterThan(scratch.cache.count, 1024, "the cache should have grown past its first table")
    }

    func testWordCacheStoresAndFindsEntries() {
        var cache = WordCache()
        let words = (0..<5000).map { Array("w\($0)".utf8) }
        for (index, word) in words.enumerated() {
            word.withUnsafeBufferPointer { cache.insert($0, hash: WordCache.hash($0), ids: [index, -index][...]) }
        }
        for (index, word) in words.enumerated() {
            var out: [Int] = []
            let found = word.withUnsafeBufferPointer { cache.lookup($0, hash: WordCache.hash($0), into: &out) }
            XCTAssertTrue(found)
            XCTAssertEqual(out, [index, -index])
        }
        var out: [Int] = []
        XCTAssertFalse(
            Array("nope".utf8).withUnsafeBufferPointer { cache.lookup($0, hash: WordCache.hash($0), into: &out) })
        XCTAssertEqual(cache.count, 5000)
    }

    func testVeryLongWordsAndRuns() {
        let tokenizer = Fixtures.gpt2FromVocabAndMerges
        for text in [
            String(repeating: "a", count: 5000), String(repeating: "ab", count: 2000),
            String(repeating: " ", count: 3000) + "x", String(repeating: "😀", count: 1000),
        ] {
            let ids = tokenizer.encode(text)
            XCTAssertSameScalars(tokenizer.decode(ids, skipSpecialTokens: false), text)
        }
    }

    func testConcurrentEncodingFromManyThreads() {
        let tokenizer = Fixtures.gpt2FromTokenizerJSON
        let lines = Fixtures.corpusLines
        let expected = lineEntries.map { ints($0["ids"]) }
        let mismatches = Mutex(0)
        DispatchQueue.concurrentPerform(iterations: 8) { worker in
            for index in stride(from: worker, to: lines.count, by: 8)
            where tokenizer.encode(lines[index]) != expected[index] {
                mismatches.withLock { $0 += 1 }
            }
        }
        XCTAssertEqual(mismatches.withLock { $0 }, 0)
    }
}

/// A tiny lock-protected box for test bookkeeping across threads.
final class Mutex<Value>: @unchecked Sendable {
    private var value: Value
    private let lock = NSLock()
    init(_ value: Value) { self.value = value }
    func withLock<R>(_ body: (inout Value) -> R) -> R {
        lock.lock()
        defer { lock.unlock() }
        return body(&value)
    }
}
