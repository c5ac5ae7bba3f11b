import XCTest

@testable import Tokenizer

/// Decoding details: invalid UTF-8, special tokens, unknown ids, tokenization-space cleanup.
final class DecodeTests: XCTestCase {
    private var lossyCases: [[String: Any]] { Fixtures.gpt2Expected["lossy_decode"] as! [[String: Any]] }

    /// Byte sequences that split or break UTF-8 (lone continuation bytes, truncated
    /// emoji, overlongs, surrogates, > U+10FFFF, 0xFF...), decoded as HF does (Rust's
    /// `from_utf8_lossy`: one U+FFFD per maximal invalid subsequence).
    func testInvalidUTF8IsReplacedLikeHF() {
        let tokenizer = Fixtures.gpt2FromVocabAndMerges
        XCTAssertGreaterThan(lossyCases.count, 500)
        for entry in lossyCases {
            let ids = ints(entry["ids"])
            let want = entry["text"] as! String
            XCTAssertSameScalars(
                tokenizer.decode(ids, skipSpecialTokens: false), want,
                "bytes "
                    + "\(ints(entry["bytes"]))")
        }
    }

    func testEmojiSplitAcrossTokens() {
        let tokenizer = Fixtures.gpt2FromVocabAndMerges
        let ids = tokenizer.encode("😀")
        XCTAssertGreaterThan(ids.count, 1, "GPT-2 has no single token for 😀")
        XCTAssertEqual(tokenizer.decode(ids, skipSpecialTokens: false), "😀")
        // Dropping the last token leaves a truncated sequence: one U+FFFD.
        XCTAssertEqual(tokenizer.decode(Array(ids.dropLast()), skipSpecialTokens: false), "\u{FFFD}")
    }

    func testSkipSpecialTokensAndUnknownIds() {
        let tokenizer = Fixtures.gpt2FromVocabAndMerges
        let ids = tokenizer.encode("a<|endoftext|>b")
        XCTAssertEqual(ids, [64, 50256, 65])
        XCTAssertEqual(tokenizer.decode(ids, skipSpecialTokens: false), "a<|endoftext|>b")
        XCTAssertEqual(tokenizer.decode(ids, skipSpecialTokens: true), "ab")
        // Ids that name no token are dropped, as HF's decode drops them.
        XCTAssertEqual(tokenizer.decode([64, -5, 50257, 1_000_000, 65], skipSpecialTokens: false), "ab")
    }

    /// transformers 4.57 defaults `clean_up_tokenization_spaces` to false; when a model's
    /// config turns it on, decoding drops spaces before punctuation and contractions.
    func testCleanUpTokenizationSpacesOption() {
        var tokenizer = Fixtures.gpt2FromVocabAndMerges
        let text = "Hello , world ! Isn 't it ? I 'm sure they 're done . ' quoted ' e\u{301} .\u{301}"
        let ids = tokenizer.encode(text)
        XCTAssertSameScalars(tokenizer.decode(ids, skipSpecialTokens: false), text)
        // What transformers' clean_up_tokenization returns for `text` (checked in Python):
        // " 't" is not in its list, and " ' " eats the spaces around a lone quote.
        let cleaned = "Hello, world! Isn 't it? I'm sure they're done.'quoted'e\u{301}.\u{301}"
        XCTAssertSameScalars(tokenizer.decode(ids, skipSpecialTokens: false, cleanUpTokenizationSpaces: true), cleaned)
        tokenizer.cleanUpTokenizationSpaces = true
        XCTAssertSameScalars(tokenizer.decode(ids, skipSpecialTokens: false), cleaned)
    }
}
