import Foundation
import XCTest

@testable import Tokenizer

/// Paths and golden data shared by the SentencePiece and NLLB tests.
enum SentencePieceFixtures {
    static let root = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Fixtures")
    static let nllbTiny = root.appendingPathComponent("Tokenizer/nllb")
    static let sentencePiece = root.appendingPathComponent("Tokenizer/sentencepiece")
    static let nllbTinyBPEModel = nllbTiny.appendingPathComponent("sentencepiece.bpe.model")
    static let tinyUnigramModel = sentencePiece.appendingPathComponent("tiny-unigram.model")
    static let testModel = sentencePiece.appendingPathComponent("test_model.model")
    static let bpeByteFallbackModel = sentencePiece.appendingPathComponent("tiny-bpe-bytefallback.model")
    static let unigramByteFallbackModel = sentencePiece.appendingPathComponent("tiny-unigram-bytefallback.model")

    /// Every model with golden data, with the name its expectations are stored under.
    static let allModels: [(name: String, url: URL)] = [
        ("nllb-tiny-bpe", nllbTinyBPEModel), ("tiny-unigram", tinyUnigramModel), ("test_model", testModel),
        ("tiny-bpe-bytefallback", bpeByteFallbackModel), ("tiny-unigram-bytefallback", unigramByteFallbackModel),
    ]
    static let nllbTinyUnigramFolder = sentencePiece.appendingPathComponent("nllb-tiny-unigram")

    struct SPMCase: Decodable {
        let text: String
        let normalized: String
        let ids: [Int]
        let pieces: [String]
        let decoded: String
    }
    struct SPMDecode: Decodable {
        let ids: [Int]
        let decoded: String
    }
    struct SPMStress: Decodable {
        let text: String
        let ids: [Int]
    }
    struct SPMModelExpectations: Decodable {
        let name: String
        let piece_size: Int
        let unk_id: Int
        let bos_id: Int
        let eos_id: Int
        let pad_id: Int
        let model_type: String
        let normalizer_name: String
        let cases: [SPMCase]
        let decodes: [SPMDecode]
        let stress: [SPMStress]
    }
    struct SPMExpected: Decodable {
        let models: [String: SPMModelExpectations]
    }

    struct NLLBPair: Decodable {
        let slow: [Int]
        let fast: [Int]
    }
    struct NLLBDecodeSet: Decodable {
        let slow_skip: String
        let slow_keep: String
        let fast_skip: String
        let fast_keep: String
    }
    struct NLLBCase: Decodable {
        let text: String
        let slow_ids: [Int]
        let fast_ids: [Int]
        let source: [String: NLLBPair]
        let target: [String: NLLBPair]
        let decode: NLLBDecodeSet
    }
    struct NLLBIDDecode: Decodable {
        let ids: [Int]
        let slow_skip: String
        let slow_keep: String
        let fast_skip: String
        let fast_keep: String
    }
    struct NLLBBareLayout: Decodable {
        let vocab_size: Int
        let ids: [String: Int]
        let source_eng: [[Int]]
        let texts: [String]
    }
    struct NLLBStress: Decodable {
        let text: String
        let slow: [Int]
        let fast: [Int]
    }
    struct NLLBTokenizerExpectations: Decodable {
        let name: String
        let stress: [NLLBStress]
        let spm_piece_size: Int
        let vocab_size: Int
        let special_ids: [String: Int]
        let language_ids: [String: Int]
        let cases: [NLLBCase]
        let decodes: [NLLBIDDecode]
        let bare_model_layout: NLLBBareLayout?
    }
    struct NLLBExpected: Decodable {
        let source_languages: [String]
        let target_languages: [String]
        let tokenizers: [String: NLLBTokenizerExpectations]
    }

    static let spmExpected: SPMExpected = load("sentencepiece_expected.json")
    static let nllbExpected: NLLBExpected = load("nllb_expected.json")

    private static func load<T: Decodable>(_ name: String) -> T {
        let url = sentencePiece.appendingPathComponent(name)
        do {
            return try JSONDecoder().decode(T.self, from: Data(contentsOf: url))
        } catch {
            fatalError("cannot load fixture \(url.path): \(error)")
        }
    }

    /// A readable form of a string for failure messages (escapes invisible characters).
    static func show(_ s: String) -> String {
        s.unicodeScalars.map {
            $0.isASCII && $0.value >= 0x20 && $0.value < 0x7F ? String($0) : "\\u{\(String($0.value, radix: 16))}"
        }.joined()
    }
}
