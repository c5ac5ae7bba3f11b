import XCTest

@testable import Tokenizer

/// Normalization exactly like `SentencePieceProcessor.normalize` (nmt_nfkc and nfkc
/// charsmaps, identity), on the edge cases the golden corpus covers, plus direct checks.
final class SentencePieceNormalizationTests: XCTestCase {
    func testNormalizeMatchesLibraryOnCorpus() throws {
        for (name, url) in SentencePieceFixtures.allModels {
            let processor = try SentencePieceProcessor(contentsOf: url)
            let expected = try XCTUnwrap(SentencePieceFixtures.spmExpected.models[name])
            for c in expected.cases {
                XCTAssertEqual(
                    processor.normalize(c.text), c.normalized,
                    "\(name): "
                        + "\(SentencePieceFixtures.show(c.text))")
            }
        }
    }

    func testNmtNfkcEdgeCases() throws {
        let p = try SentencePieceProcessor(contentsOf: SentencePieceFixtures.nllbTinyBPEModel)
        XCTAssertEqual(p.normalize(""), "")
        XCTAssertEqual(p.normalize("   "), "")
        XCTAssertEqual(p.normalize("\t\n"), "")
        XCTAssertEqual(p.normalize("  Hello   world  "), "▁Hello▁world")
        XCTAssertEqual(p.normalize("Hello\tworld"), "▁Hello▁world")
        XCTAssertEqual(p.normalize("ＨＥＬＬＯ"), "▁HELLO")  // full width
        XCTAssertEqual(p.normalize("ﬁ"), "▁fi")  // ligature
        XCTAssertEqual(p.normalize("e\u{301}"), "▁\u{E9}")  // combining -> composed
        XCTAssertEqual(p.normalize("\u{1100}\u{1161}\u{11A8}"), "▁\u{AC01}")  // conjoining jamo
        XCTAssertEqual(p.normalize("ｶﾞ"), "▁\u{30AC}")  // half-width kana + voiced mark
        XCTAssertEqual(p.normalize("a\u{3000}b"), "▁a▁b")  // ideographic space
        XCTAssertEqual(p.normalize("▁x"), "▁x")  // U+2581 in the input is a space
    }

    func testIdentityNormalizationKeepsText() throws {
        let p = try SentencePieceProcessor(contentsOf: SentencePieceFixtures.bpeByteFallbackModel)
        XCTAssertEqual(p.normalize("ＨＥＬＬＯ  ﬁ"), "▁ＨＥＬＬＯ▁ﬁ")
    }

    func testWhitespaceOptions() throws {
        let base = try SentencePieceModel(contentsOf: SentencePieceFixtures.nllbTinyBPEModel)
        var model = base
        model.normalizerSpec.addDummyPrefix = false
        XCTAssertEqual(try SentencePieceProcessor(model: model).normalize(" a  b "), "a▁b")
        model = base
        model.normalizerSpec.removeExtraWhitespaces = false
        XCTAssertEqual(try SentencePieceProcessor(model: model).normalize(" a  b "), "▁▁a▁▁b▁")
        model = base
        model.normalizerSpec.escapeWhitespaces = false
        XCTAssertEqual(try SentencePieceProcessor(model: model).normalize(" a  b "), " a b")
        model = base
        model.trainerSpec.treatWhitespaceAsSuffix = true
        XCTAssertEqual(try SentencePieceProcessor(model: model).normalize(" a  b "), "a▁b▁")
    }
}
