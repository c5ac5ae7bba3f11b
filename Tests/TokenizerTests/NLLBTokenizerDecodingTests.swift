import XCTest

@testable import Tokenizer

/// `decode` equal to NLLBTokenizer.decode (`.slow`) and NllbTokenizerFast.decode
/// (`.fast`), with and without special tokens; streaming bytes.
final class NLLBTokenizerDecodingTests: XCTestCase {
    func testDecodeMatchesTransformers() throws {
        for (name, folder, preferring) in [
            ("nllb-tiny", SentencePieceFixtures.nllbTiny, NLLBTokenizer.VocabularySource.sentencePieceModel),
            ("nllb-tiny", SentencePieceFixtures.nllbTiny, .tokenizerJSON),
            ("nllb-tiny-unigram", SentencePieceFixtures.nllbTinyUnigramFolder, .tokenizerJSON),
        ] {
            let tokenizer = try NLLBTokenizer(folder: folder, preferring: preferring)
            let expected = try XCTUnwrap(SentencePieceFixtures.nllbExpected.tokenizers[name])
            for c in expected.cases {
                let ids = try XCTUnwrap(c.source["eng_Latn"]?.slow)
                let shown = "\(name) \(SentencePieceFixtures.show(c.text))"
                XCTAssertEqual(tokenizer.decode(ids, skipSpecialTokens: true), c.decode.slow_skip, shown)
                XCTAssertEqual(tokenizer.decode(ids, skipSpecialTokens: false), c.decode.slow_keep, shown)
                XCTAssertEqual(tokenizer.decode(ids, skipSpecialTokens: true, style: .fast), c.decode.fast_skip, shown)
                XCTAssertEqual(tokenizer.decode(ids, skipSpecialTokens: false, style: .fast), c.decode.fast_keep, shown)
            }
            for d in expected.decodes {
                XCTAssertEqual(tokenizer.decode(d.ids, skipSpecialTokens: true), d.slow_skip, "\(d.ids)")
                XCTAssertEqual(tokenizer.decode(d.ids, skipSpecialTokens: false), d.slow_keep, "\(d.ids)")
                XCTAssertEqual(tokenizer.decode(d.ids, skipSpecialTokens: true, style: .fast), d.fast_skip, "\(d.ids)")
                XCTAssertEqual(tokenizer.decode(d.ids, skipSpecialTokens: false, style: .fast), d.fast_keep, "\(d.ids)")
            }
        }
    }

    func testRoundTrip() throws {
        let tokenizer = try NLLBTokenizer(folder: SentencePieceFixtures.nllbTiny)
        for text in ["Hello world.", "El rápido zorro marrón.", "Быстрая коричневая лиса", "敏捷的棕色狐狸跳过了懒狗。"] {
            let ids = try tokenizer.encodeSource(text, language: "eng_Latn")
            XCTAssertEqual(tokenizer.decode(ids, skipSpecialTokens: true), text)
        }
    }

    func testStreamingBytesMatchFastDecode() throws {
        let tokenizer = try NLLBTokenizer(folder: SentencePieceFixtures.nllbTiny)
        for c in SentencePieceFixtures.nllbExpected.tokenizers["nllb-tiny"]!.cases {
            let ids = c.slow_ids.filter { !tokenizer.specialTokenIDs.contains($0) }
            var bytes: [UInt8] = []
            for (i, id) in ids.enumerated() { bytes += try XCTUnwrap(tokenizer.bytes(forToken: id, isFirst: i == 0)) }
            XCTAssertEqual(
                String(decoding: bytes, as: UTF8.self), tokenizer.decode(ids, skipSpecialTokens: true, style: .fast),
                SentencePieceFixtures.show(c.text))
        }
        XCTAssertNil(tokenizer.bytes(forToken: tokenizer.vocabularySize, isFirst: false))
        XCTAssertNil(tokenizer.bytes(forToken: -5, isFirst: true))
        XCTAssertEqual(tokenizer.bytes(forToken: 2, isFirst: false), Array("</s>".utf8))
    }

    func testCleanUpTokenizationSpaces() {
        XCTAssertEqual(NLLBTokenizer.cleanUpTokenization("Hello , world ! I 'm here ."), "Hello, world! I'm here.")
    }
}
