import Foundation
import XCTest

@testable import Tokenizer

/// A bounded, seeded mutation fuzzer for the tokenizer readers (tokenizer.json, vocab.json +
/// merges.txt, SentencePiece `.model`): every mutated file either loads and encodes, or is
/// refused with a typed error; nothing traps. A failure prints the seed and iteration.
final class TokenizerReaderFuzzTests: XCTestCase {
    struct Generator {
        var state: UInt64
        mutating func next(_ bound: Int) -> Int {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int((state >> 33) % UInt64(max(bound, 1)))
        }
    }

    /// Byte flips, insertions, deletions, duplicated ranges, interesting bytes and truncation.
    static func mutate(_ seed: [UInt8], _ g: inout Generator) -> [UInt8] {
        var bytes = seed
        for _ in 0..<(1 + g.next(4)) where !bytes.isEmpty {
            let at = g.next(bytes.count)
            switch g.next(6) {
            case 0: bytes[at] ^= UInt8(1 << g.next(8))
            case 1: bytes.insert([0x00, 0xFF, 0x22, 0x7B, 0x5D, 0x2C, 0x0A, 0x80][g.next(8)], at: at)
            case 2: bytes.removeSubrange(at..<min(bytes.count, at + 1 + g.next(16)))
            case 3:
                let end = min(bytes.count, at + 1 + g.next(64))
                bytes.insert(contentsOf: bytes[at..<end], at: g.next(bytes.count))
            case 4: bytes[at] = [0x30, 0x39, 0x2D, 0x2E, 0x65, 0x01][g.next(6)]
            default: bytes.removeSubrange(at...)
            }
        }
        return bytes
    }

    func fuzz(_ seedURL: URL, iterations: Int, seed: UInt64, load: (URL) throws -> [Int]) throws {
        let original = [UInt8](try Data(contentsOf: seedURL))
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent(
            "tokenizer-fuzz-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let url = folder.appendingPathComponent(seedURL.lastPathComponent)
        var g = Generator(state: seed)
        var loaded = 0
        for iteration in 0..<iterations {
            try Data(Self.mutate(original, &g)).write(to: url)
            do {
                _ = try load(url)
                loaded += 1
            } catch is TokenizerError {
            } catch is SentencePieceError {
            } catch is NLLBTokenizerError {
            } catch {
                XCTFail("\(seedURL.lastPathComponent) seed \(seed) iteration \(iteration): untyped error \(error)")
            }
        }
        print("\(seedURL.lastPathComponent): \(iterations) mutations, \(loaded) loaded")
    }

    func testTokenizerJSON() throws {
        try fuzz(Fixtures.root.appendingPathComponent("GPT2/tiny/tokenizer.json"), iterations: 800, seed: 1) {
            try ByteLevelBPETokenizer(tokenizerJSONURL: $0).encode("Hello world, naïve café!")
        }
    }

    func testVocabularyAndMerges() throws {
        let tiny = Fixtures.root.appendingPathComponent("GPT2/tiny")
        try fuzz(tiny.appendingPathComponent("vocab.json"), iterations: 600, seed: 2) {
            try ByteLevelBPETokenizer(vocabularyURL: $0, mergesURL: tiny.appendingPathComponent("merges.txt")).encode(
                "Hello world")
        }
        try fuzz(tiny.appendingPathComponent("merges.txt"), iterations: 600, seed: 3) {
            try ByteLevelBPETokenizer(vocabularyURL: tiny.appendingPathComponent("vocab.json"), mergesURL: $0).encode(
                "Hello world")
        }
    }

    func testSentencePieceModel() throws {
        for (index, name) in ["tiny-bpe-bytefallback.model", "tiny-unigram-bytefallback.model"].enumerated() {
            try fuzz(
                SentencePieceFixtures.sentencePiece.appendingPathComponent(name), iterations: 800,
                seed: 4 + UInt64(index)
            ) {
                try SentencePieceProcessor(contentsOf: $0).encode("Hello world, naïve café ☃!")
            }
        }
    }
}
