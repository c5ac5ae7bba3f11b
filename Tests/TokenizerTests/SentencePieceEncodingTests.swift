import XCTest

@testable import Tokenizer

/// Ids, pieces and normalized text exactly equal to the `sentencepiece` library
/// (0.2.3) on the hard corpus, for a BPE model (NLLB-like) and two unigram models.
final class SentencePieceEncodingTests: XCTestCase {
    private func check(model url: URL, expectations name: String, file: StaticString = #filePath, line: UInt = #line)
        throws
    {
        let processor = try SentencePieceProcessor(contentsOf: url)
        guard let expected = SentencePieceFixtures.spmExpected.models[name] else {
            return XCTFail("no expectations for \(name)", file: file, line: line)
        }
        XCTAssertEqual(processor.vocabularySize, expected.piece_size, file: file, line: line)
        XCTAssertEqual(processor.unknownID, expected.unk_id, file: file, line: line)
        XCTAssertFalse(expected.cases.isEmpty)
        for c in expected.cases {
            let shown = SentencePieceFixtures.show(c.text)
            XCTAssertEqual(processor.normalize(c.text), c.normalized, "normalize \(shown)", file: file, line: line)
            XCTAssertEqual(processor.encode(c.text), c.ids, "ids of \(shown)", file: file, line: line)
            XCTAssertEqual(processor.encodeAsPieces(c.text), c.pieces, "pieces of \(shown)", file: file, line: line)
        }
        XCTAssertFalse(expected.stress.isEmpty)
        for c in expected.stress {
            XCTAssertEqual(
                processor.encode(c.text), c.ids, "ids of \(SentencePieceFixtures.show(c.text))", file: file, line: line)
        }
    }

    func testBPEModelMatchesLibrary() throws {
        try check(model: SentencePieceFixtures.nllbTinyBPEModel, expectations: "nllb-tiny-bpe")
    }

    func testUnigramModelMatchesLibrary() throws {
        try check(model: SentencePieceFixtures.tinyUnigramModel, expectations: "tiny-unigram")
    }

    func testSentencePieceTestModelMatchesLibrary() throws {
        try check(model: SentencePieceFixtures.testModel, expectations: "test_model")
    }

    /// Identity normalization, byte fallback, user-defined symbols, extra control symbol.
    func testByteFallbackBPEModelMatchesLibrary() throws {
        try check(model: SentencePieceFixtures.bpeByteFallbackModel, expectations: "tiny-bpe-bytefallback")
    }

    func testByteFallbackUnigramModelMatchesLibrary() throws {
        try check(model: SentencePieceFixtures.unigramByteFallbackModel, expectations: "tiny-unigram-bytefallback")
    }

    func testUnknownRunsAreMergedIntoOneUnknownPiece() throws {
        let processor = try SentencePieceProcessor(contentsOf: SentencePieceFixtures.nllbTinyBPEModel)
        let ids = processor.encode("ᚠᛇᚻ")
        XCTAssertEqual(ids.filter { $0 == processor.unknownID }.count, 1, "\(ids)")
        XCTAssertEqual(processor.encodeAsPieces("ᚠᛇᚻ").last, "ᚠᛇᚻ")
    }

    func testByteFallbackSpellsUnknownCharactersAsBytes() throws {
        let processor = try SentencePieceProcessor(contentsOf: SentencePieceFixtures.bpeByteFallbackModel)
        let pieces = processor.encodeAsPieces("ᚠ")
        XCTAssertEqual(Array(pieces.suffix(3)), ["<0xE1>", "<0x9A>", "<0xA0>"])
        XCTAssertEqual(processor.decode(processor.encode("ᚠ x")), "ᚠ x")
    }

    func testUserDefinedSymbolsAreKeptWhole() throws {
        let processor = try SentencePieceProcessor(contentsOf: SentencePieceFixtures.bpeByteFallbackModel)
        XCTAssertTrue(processor.encodeAsPieces("x<sep>y[MASK]").contains("<sep>"))
        XCTAssertTrue(processor.encodeAsPieces("x<sep>y[MASK]").contains("[MASK]"))
        XCTAssertEqual(processor.pieceType(processor.pieceToID("<sep>")), .userDefined)
        XCTAssertEqual(processor.pieceType(processor.pieceToID("<ctl>")), .control)
    }
}
