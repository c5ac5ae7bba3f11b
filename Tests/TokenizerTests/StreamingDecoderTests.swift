import XCTest

@testable import Tokenizer

final class StreamingDecoderTests: XCTestCase {
    private func stream(_ ids: [Int], _ tokenizer: any Tokenizer, skipSpecialTokens: Bool = false) -> [String] {
        var decoder = StreamingDecoder(tokenizer: tokenizer, skipSpecialTokens: skipSpecialTokens)
        var outputs = ids.map { decoder.push($0) }
        outputs.append(decoder.finish())
        return outputs
    }

    func testEmojiSplitAcrossTokensIsEmittedWhole() {
        let tokenizer = Fixtures.gpt2FromVocabAndMerges
        let ids = tokenizer.encode("a😀b 👨‍👩‍👧")
        let outputs = stream(ids, tokenizer)
        for output in outputs {
            XCTAssertFalse(output.unicodeScalars.contains("\u{FFFD}"), "emitted half a character: \(outputs)")
        }
        XCTAssertEqual(outputs.joined(), "a😀b 👨‍👩‍👧")
        // The emoji's first tokens produce nothing until its last byte arrives.
        var decoder = StreamingDecoder(tokenizer: tokenizer)
        let emoji = tokenizer.encode("😀")
        for id in emoji.dropLast() {
            XCTAssertEqual(decoder.push(id), "")
            XCTAssertTrue(decoder.hasPendingBytes)
        }
        XCTAssertEqual(decoder.push(emoji.last!), "😀")
        XCTAssertFalse(decoder.hasPendingBytes)
        XCTAssertEqual(decoder.finish(), "")
    }

    func testConcatenationEqualsDecodeOnTheCorpus() {
        let tokenizer = Fixtures.gpt2FromTokenizerJSON
        for text in Fixtures.corpusLines {
            let ids = tokenizer.encode(text)
            XCTAssertSameScalars(stream(ids, tokenizer).joined(), tokenizer.decode(ids, skipSpecialTokens: false))
            XCTAssertSameScalars(
                stream(ids, tokenizer, skipSpecialTokens: true).joined(),
                tokenizer.decode(ids, skipSpecialTokens: true))
        }
    }

    /// Even for broken byte sequences the pieces decode to what `decode` gives.
    func testConcatenationEqualsDecodeOnInvalidUTF8() {
        let tokenizer = Fixtures.gpt2FromVocabAndMerges
        for entry in Fixtures.gpt2Expected["lossy_decode"] as! [[String: Any]] {
            let ids = ints(entry["ids"])
            XCTAssertSameScalars(
                stream(ids, tokenizer).joined(), entry["text"] as! String, "bytes \(ints(entry["bytes"]))")
        }
    }

    func testFinishFlushesAnUnfinishedCharacterAndResets() {
        let tokenizer = Fixtures.gpt2FromVocabAndMerges
        let emoji = tokenizer.encode("😀")
        var decoder = StreamingDecoder(tokenizer: tokenizer)
        XCTAssertEqual(decoder.push(contentsOf: emoji.dropLast()), "")
        XCTAssertEqual(decoder.finish(), "\u{FFFD}")
        XCTAssertFalse(decoder.hasPendingBytes)
        XCTAssertEqual(decoder.push(contentsOf: tokenizer.encode("ok")), "ok")
    }

    func testUnknownIdsAreSkipped() {
        let tokenizer = Fixtures.gpt2FromVocabAndMerges
        var decoder = StreamingDecoder(tokenizer: tokenizer)
        XCTAssertEqual(decoder.push(-1), "")
        XCTAssertEqual(decoder.push(999_999), "")
        XCTAssertEqual(decoder.push(64), "a")
    }

    func testCompletePrefixLength() {
        typealias D = StreamingDecoder
        XCTAssertEqual(D.completePrefixLength([]), 0)
        XCTAssertEqual(D.completePrefixLength([0x41]), 1)
        XCTAssertEqual(D.completePrefixLength([0x41, 0xF0, 0x9F, 0x98]), 1)  // emoji missing its last byte
        XCTAssertEqual(D.completePrefixLength([0x41, 0xF0, 0x9F, 0x98, 0x80]), 5)
        XCTAssertEqual(D.completePrefixLength([0x41, 0xE4]), 1)
        XCTAssertEqual(D.completePrefixLength([0xE0, 0x80]), 2)  // overlong start: already invalid
        XCTAssertEqual(D.completePrefixLength([0xED, 0xA0]), 2)  // surrogate start: already invalid
        XCTAssertEqual(D.completePrefixLength([0xF4, 0x90]), 2)  // > U+10FFFF: already invalid
        XCTAssertEqual(D.completePrefixLength([0xF5]), 1)
        XCTAssertEqual(D.completePrefixLength([0x80, 0x80]), 2)
        XCTAssertEqual(D.completePrefixLength([0xC3]), 0)
    }

    /// The decoder only needs `bytes(forToken:isFirst:)`: a toy tokenizer works too, and
    /// `isFirst` is true for the first token that is not skipped.
    func testWorksWithAnyTokenizer() {
        struct Toy: Tokenizer {
            var vocabularySize: Int { 3 }
            var specialTokenIDs: Set<Int> { [0] }
            func encode(_ text: String) -> [Int] { [] }
            func decode(_ ids: [Int], skipSpecialTokens: Bool) -> String { "" }
            func bytes(forToken id: Int, isFirst: Bool) -> [UInt8]? {
                switch id {
                case 0: return Array("<s>".utf8)
                case 1: return isFirst ? [0xC3] : Array(" ".utf8) + [0xC3]
                case 2: return [0xA9]
                default: return nil
                }
            }
        }
        var decoder = StreamingDecoder(tokenizer: Toy(), skipSpecialTokens: true)
        XCTAssertEqual(decoder.push(0), "")
        XCTAssertEqual(decoder.push(1), "")
        XCTAssertEqual(decoder.push(2), "é")
        XCTAssertEqual(decoder.push(1), " ")
        XCTAssertEqual(decoder.push(2), "é")
    }
}
