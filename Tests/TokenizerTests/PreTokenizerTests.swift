import Foundation
import XCTest

@testable import Tokenizer

/// GPT-2's split regex and byte table, piece by piece.
final class PreTokenizerTests: XCTestCase {
    /// Pieces HF's ByteLevel pre-tokenizer produced for hand-picked strings.
    func testPiecesMatchHFPreTokenizer() {
        let cases = Fixtures.gpt2Expected["pre_tokenizer"] as! [[String: Any]]
        XCTAssertGreaterThan(cases.count, 40)
        for entry in cases {
            let text = entry["text"] as! String
            let want = entry["pieces"] as! [String]
            let got = ByteLevelPreTokenizer.split(text)
            XCTAssertTrue(
                got.elementsEqual(want, by: { $0.unicodeScalars.elementsEqual($1.unicodeScalars) }),
                "\(text.debugDescription): got \(got), HF \(want)")
        }
    }

    func testContractionsAreLowercaseASCIIOnly() {
        XCTAssertEqual(ByteLevelPreTokenizer.split("it's"), ["it", "'s"])
        XCTAssertEqual(ByteLevelPreTokenizer.split("IT'S"), ["IT", "'", "S"])
        XCTAssertEqual(ByteLevelPreTokenizer.split("it’s"), ["it", "’", "s"])
        XCTAssertEqual(ByteLevelPreTokenizer.split("we'll've"), ["we", "'ll", "'ve"])
        XCTAssertEqual(ByteLevelPreTokenizer.split("'sa"), ["'s", "a"])
        // Contractions are only tried where a piece starts: here "'" is already inside a
        // punctuation run.
        XCTAssertEqual(ByteLevelPreTokenizer.split("?!'s"), ["?!'", "s"])
        XCTAssertEqual(ByteLevelPreTokenizer.split(" 's"), [" '", "s"])
    }

    func testOptionalSpaceJoinsTheFollowingRun() {
        XCTAssertEqual(ByteLevelPreTokenizer.split("Hello world"), ["Hello", " world"])
        XCTAssertEqual(ByteLevelPreTokenizer.split("a 123 !?"), ["a", " 123", " !?"])
        XCTAssertEqual(ByteLevelPreTokenizer.split("a1b2"), ["a", "1", "b", "2"])
        // Only U+0020 is the optional space; a tab or NBSP is whitespace of its own.
        XCTAssertEqual(ByteLevelPreTokenizer.split("a\tb"), ["a", "\t", "b"])
        XCTAssertEqual(ByteLevelPreTokenizer.split("a\u{A0}b"), ["a", "\u{A0}", "b"])
    }

    /// `\s+(?!\S)` gives the last whitespace scalar of a run back to the next word.
    func testWhitespaceRunLookahead() {
        XCTAssertEqual(ByteLevelPreTokenizer.split("a   b"), ["a", "  ", " b"])
        XCTAssertEqual(ByteLevelPreTokenizer.split("a \tb"), ["a", " ", "\t", "b"])
        XCTAssertEqual(ByteLevelPreTokenizer.split("a\t b"), ["a", "\t", " b"])
        XCTAssertEqual(ByteLevelPreTokenizer.split("a\n\n\nb"), ["a", "\n\n", "\n", "b"])
        XCTAssertEqual(ByteLevelPreTokenizer.split("a   "), ["a", "   "])
        XCTAssertEqual(ByteLevelPreTokenizer.split("   "), ["   "])
        XCTAssertEqual(ByteLevelPreTokenizer.split(" "), [" "])
        XCTAssertEqual(ByteLevelPreTokenizer.split(""), [])
    }

    func testCRLFPieces() {
        // "\r\n" is two scalars (one Swift Character): the run gives its "\n" back, which
        // then stands alone, because only U+0020 can lead a word.
        let pieces = ByteLevelPreTokenizer.split("x\r\ny").map { Array($0.unicodeScalars) }
        XCTAssertEqual(pieces, [["x"], ["\r"], ["\n"], ["y"]])
        let trailing = ByteLevelPreTokenizer.split("x\r\n").map { Array($0.unicodeScalars) }
        XCTAssertEqual(trailing, [["x"], ["\r", "\n"]])
    }

    func testPiecesCoverTheInputExactly() {
        for line in Fixtures.corpusLines {
            let joined = ByteLevelPreTokenizer.split(line).joined()
            XCTAssertTrue(joined.unicodeScalars.elementsEqual(line.unicodeScalars), line.debugDescription)
        }
    }

    func testByteTableIsGPT2s() {
        let table = ByteLevelPreTokenizer.byteToScalar
        XCTAssertEqual(Set(table).count, 256)
        XCTAssertEqual(table[Int(UInt8(ascii: "A"))], "A")
        XCTAssertEqual(table[0x20], "\u{120}")  // Ġ
        XCTAssertEqual(table[0x0A], "\u{10A}")  // Ċ
        XCTAssertEqual(table[0x00], "\u{100}")
        XCTAssertEqual(table[0xAD], "\u{143}")  // soft hyphen is the last moved byte
        XCTAssertEqual(table[0xE9], "é")
        for byte in 0..<256 {
            XCTAssertEqual(ByteLevelPreTokenizer.byte(forScalar: table[byte].value), UInt8(byte))
        }
        XCTAssertNil(ByteLevelPreTokenizer.byte(forScalar: 0x20))
        XCTAssertNil(ByteLevelPreTokenizer.byte(forScalar: 0x4E2D))
    }
}
