import XCTest

@testable import Tokenizer

/// `decode` equal to `SentencePieceProcessor.decode(ids)`, and streaming bytes
/// that concatenate to the same text.
final class SentencePieceDecodingTests: XCTestCase {
    func testDecodeMatchesLibrary() throws {
        for (name, url) in SentencePieceFixtures.allModels {
            let processor = try SentencePieceProcessor(contentsOf: url)
            let expected = try XCTUnwrap(SentencePieceFixtures.spmExpected.models[name])
            for c in expected.cases {
                XCTAssertEqual(
                    processor.decode(c.ids), c.decoded,
                    "\(name): decode of "
                        + "\(SentencePieceFixtures.show(c.text))")
            }
            for d in expected.decodes {
                XCTAssertEqual(processor.decode(d.ids), d.decoded, "\(name): decode of \(d.ids)")
            }
        }
    }

    func testStreamingBytesConcatenateToDecode() throws {
        for (name, url) in SentencePieceFixtures.allModels {
            let processor = try SentencePieceProcessor(contentsOf: url)
            let expected = try XCTUnwrap(SentencePieceFixtures.spmExpected.models[name])
            for c in expected.cases {
                var bytes: [UInt8] = []
                for id in c.ids {
                    // "first" while nothing visible has been produced, as sentencepiece decides it.
                    bytes += try XCTUnwrap(processor.bytes(forToken: id, isFirst: bytes.isEmpty))
                }
                XCTAssertEqual(
                    String(decoding: bytes, as: UTF8.self), c.decoded,
                    "\(name): streamed \(SentencePieceFixtures.show(c.text))")
            }
        }
    }

    func testOutOfRangeIDs() throws {
        let processor = try SentencePieceProcessor(contentsOf: SentencePieceFixtures.nllbTinyBPEModel)
        XCTAssertNil(processor.bytes(forToken: -1, isFirst: true))
        XCTAssertNil(processor.bytes(forToken: processor.vocabularySize, isFirst: false))
        XCTAssertNil(processor.idToPiece(processor.vocabularySize))
        // Out-of-range ids are skipped (the library raises instead).
        let ids = processor.encode("Hello world")
        XCTAssertEqual(processor.decode(ids + [99_999]), "Hello world")
    }

    func testSkipSpecialTokensDropsUnknown() throws {
        let processor = try SentencePieceProcessor(contentsOf: SentencePieceFixtures.nllbTinyBPEModel)
        let ids = processor.encode("Rare 龘 here")
        XCTAssertTrue(ids.contains(processor.unknownID))
        // "▁Rare" "▁" <unk> "▁here": the library's unk surface is " \u{2047} ".
        XCTAssertEqual(processor.decode(ids), "Rare  \u{2047}  here")
        XCTAssertEqual(processor.decode(ids, skipSpecialTokens: true), "Rare  here")
        XCTAssertEqual(processor.specialTokenIDs, [0, 1, 2])
    }
}
