import XCTest

@testable import Tokenizer

/// NLLB ids exactly equal to transformers 4.57.1's NLLBTokenizer (`encode`, style `.slow`)
/// and NllbTokenizerFast (style `.fast`) on the hard corpus, for source and target
/// sides; the texts where slow and fast disagree with each other are pinned.
final class NLLBTokenizerEncodingTests: XCTestCase {
    /// Texts on which transformers' NllbTokenizerFast gives other ids than NLLBTokenizer
    /// (grapheme-wise Precompiled normalization; `▁` left before `<mask>`).
    static let fastDiscrepancies: Set<String> = [
        "\u{1100}\u{1161}\u{11A8} 한국어 \u{110B}\u{1173}\u{11AB}",
        "素早い茶色の狐が怠け者の犬を飛び越える。ｶﾀｶﾅ ｶﾞｷﾞ",
        "a  <mask>",
        "a\u{A0}\u{301}b",
        "A\u{30A}\u{301} \u{FB01}\u{301} e\u{301}\u{301}",
    ]

    private func check(
        _ tokenizer: NLLBTokenizer, against name: String, file: StaticString = #filePath, line: UInt = #line
    ) throws {
        let expected = try XCTUnwrap(SentencePieceFixtures.nllbExpected.tokenizers[name])
        XCTAssertEqual(tokenizer.vocabularySize, expected.vocab_size, file: file, line: line)
        var fastDiffering = Set<String>()
        for c in expected.cases {
            let shown = SentencePieceFixtures.show(c.text)
            let ids = tokenizer.encode(c.text)
            XCTAssertEqual(ids, c.slow_ids, "slow ids of \(shown)", file: file, line: line)
            XCTAssertEqual(
                tokenizer.encode(c.text, style: .fast), c.fast_ids, "fast ids of \(shown)", file: file, line: line)
            if c.slow_ids != c.fast_ids { fastDiffering.insert(c.text) }
            for (language, pair) in c.source {
                XCTAssertEqual(
                    try tokenizer.encodeSource(c.text, language: language), pair.slow, "\(language) source \(shown)",
                    file: file, line: line)
                XCTAssertEqual(
                    try tokenizer.encodeSource(c.text, language: language, style: .fast), pair.fast,
                    "\(language) fast source \(shown)", file: file, line: line)
            }
            for (language, pair) in c.target {
                XCTAssertEqual(
                    try tokenizer.encodeTarget(c.text, language: language), pair.slow, "\(language) target \(shown)",
                    file: file, line: line)
                XCTAssertEqual(
                    try tokenizer.encodeTarget(c.text, language: language, style: .fast), pair.fast,
                    "\(language) fast target \(shown)", file: file, line: line)
            }
        }
        XCTAssertEqual(
            fastDiffering, Self.fastDiscrepancies, "the slow/fast discrepancies changed", file: file, line: line)
        // Random texts built to hit the slow/fast differences (a fifth of them differ).
        XCTAssertGreaterThan(expected.stress.filter { $0.slow != $0.fast }.count, 30, file: file, line: line)
        for c in expected.stress {
            let shown = SentencePieceFixtures.show(c.text)
            XCTAssertEqual(tokenizer.encode(c.text), c.slow, "slow ids of \(shown)", file: file, line: line)
            XCTAssertEqual(
                tokenizer.encode(c.text, style: .fast), c.fast, "fast ids of \(shown)", file: file, line: line)
        }
    }

    func testBPEFolderFromSentencePieceModel() throws {
        let tokenizer = try NLLBTokenizer(folder: SentencePieceFixtures.nllbTiny)
        XCTAssertEqual(tokenizer.vocabularySource, .sentencePieceModel)
        try check(tokenizer, against: "nllb-tiny")
    }

    func testBPEFolderFromTokenizerJSON() throws {
        let tokenizer = try NLLBTokenizer(folder: SentencePieceFixtures.nllbTiny, preferring: .tokenizerJSON)
        XCTAssertEqual(tokenizer.vocabularySource, .tokenizerJSON)
        try check(tokenizer, against: "nllb-tiny")
    }

    func testUnigramFolderFromTokenizerJSON() throws {
        let tokenizer = try NLLBTokenizer(folder: SentencePieceFixtures.nllbTinyUnigramFolder)
        XCTAssertEqual(tokenizer.vocabularySource, .tokenizerJSON)
        try check(tokenizer, against: "nllb-tiny-unigram")
    }

    func testNLLBIdsAreOffsetSentencePieceIds() throws {
        let tokenizer = try NLLBTokenizer(folder: SentencePieceFixtures.nllbTiny)
        let spm = try SentencePieceProcessor(contentsOf: SentencePieceFixtures.nllbTinyBPEModel)
        for text in ["Hello world", "Rare 龘 here", "Быстрая лиса", "敏捷的棕色狐狸"] {
            XCTAssertEqual(tokenizer.encode(text), spm.encode(text).map { $0 == 0 ? 3 : $0 + 1 }, text)
        }
    }

    func testSpecialTokensTypedInTextBecomeTheirIds() throws {
        let tokenizer = try NLLBTokenizer(folder: SentencePieceFixtures.nllbTiny)
        let ids = tokenizer.encode("x </s> y eng_Latn <mask>")
        XCTAssertTrue(ids.contains(tokenizer.eosID))
        XCTAssertTrue(ids.contains(try tokenizer.languageTokenID("eng_Latn")))
        XCTAssertEqual(ids.last, tokenizer.maskID)
    }

    func testLegacyBehaviourPutsLanguageLast() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("nllb-legacy-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        try FileManager.default.copyItem(
            at: SentencePieceFixtures.nllbTinyBPEModel,
            to: folder.appendingPathComponent("sentencepiece.bpe.model"))
        try Data(#"{"legacy_behaviour": true, "src_lang": "spa_Latn"}"#.utf8).write(
            to: folder.appendingPathComponent("tokenizer_config.json"))
        let tokenizer = try NLLBTokenizer(folder: folder)
        XCTAssertTrue(tokenizer.legacyBehaviour)
        XCTAssertEqual(tokenizer.defaultSourceLanguage, "spa_Latn")
        let ids = try tokenizer.encodeSource("Hello", language: "fra_Latn")
        XCTAssertEqual(Array(ids.suffix(2)), [2, try tokenizer.languageTokenID("fra_Latn")])
        XCTAssertEqual(ids.dropLast(2).map { $0 }, tokenizer.encode("Hello"))
    }
}
