import Foundation
import XCTest

@testable import Tokenizer

/// `SentenceSplitter`: exact pieces and offsets for each rule, layout-preserving
/// reassembly, the length guard, and totality on arbitrary input.
final class SentenceSplitterTests: XCTestCase {
    let splitter = SentenceSplitter()

    func sentences(_ text: String) -> [String] {
        splitter.split(text).sentences.map { String($0.text) }
    }

    // MARK: - Sentence boundaries

    func testSplitsAtTerminatorsAndKeepsPunctuation() {
        XCTAssertEqual(
            sentences("Hello world. How are you? I'm fine! Really…"),
            ["Hello world.", "How are you?", "I'm fine!", "Really…"])
        XCTAssertEqual(sentences("Really?! Yes!!! OK... Then"), ["Really?!", "Yes!!!", "OK...", "Then"])
        XCTAssertEqual(sentences("No terminator at all"), ["No terminator at all"])
    }

    func testOffsetsPointIntoTheSource() {
        let text = "Ça va? Oui. 🙂 Fin."
        let split = splitter.split(text)
        XCTAssertEqual(split.sentences.map { String($0.text) }, ["Ça va?", "Oui.", "🙂 Fin."])
        XCTAssertEqual(split.sentences.map(\.utf8Offsets), [0..<7, 8..<12, 13..<22])
        for sentence in split.sentences {
            XCTAssertEqual(text[sentence.range], sentence.text)
            let bytes = Array(text.utf8)[sentence.utf8Offsets]
            XCTAssertEqual(String(decoding: bytes, as: UTF8.self), String(sentence.text))
            XCTAssertFalse(sentence.isLengthFragment)
        }
    }

    func testClosingQuotesAndBracketsStayWithTheSentence() {
        XCTAssertEqual(sentences("He said \"Stop.\" Then he left."), ["He said \"Stop.\"", "Then he left."])
        XCTAssertEqual(
            sentences("She smiled. “Hello.” (It was late.) Done."),
            ["She smiled.", "“Hello.”", "(It was late.)", "Done."])
        XCTAssertEqual(sentences("«Viens !» Il partit."), ["«Viens !»", "Il partit."])
    }

    func testLowerCaseContinuationDoesNotSplit() {
        XCTAssertEqual(sentences("\"Stop!\" she cried. Then silence."), ["\"Stop!\" she cried.", "Then silence."])
        XCTAssertEqual(
            sentences("Wait... what happened? Nothing… really. I waited... Then it came."),
            ["Wait... what happened?", "Nothing… really.", "I waited...", "Then it came."])
        XCTAssertEqual(sentences("It weighs approx. five kilos."), ["It weighs approx. five kilos."])
    }

    func testAbbreviationsDoNotEndSentences() {
        XCTAssertEqual(
            sentences("Mr. Smith met Dr. Jones at St. Mary's. They talked."),
            ["Mr. Smith met Dr. Jones at St. Mary's.", "They talked."])
        XCTAssertEqual(sentences("It was Ali vs. Frazier. Great fight."), ["It was Ali vs. Frazier.", "Great fight."])
        XCTAssertEqual(sentences("(Mrs. Brown) left. Bye."), ["(Mrs. Brown) left.", "Bye."])
        XCTAssertEqual(sentences("MR. BIG arrived. Yes."), ["MR. BIG arrived.", "Yes."])
    }

    func testEtceteraEndsASentenceOnlyBeforeACapital() {
        XCTAssertEqual(
            sentences("We bought apples, pears, etc. and then left. Then we ate, etc. Later it rained."),
            ["We bought apples, pears, etc. and then left.", "Then we ate, etc.", "Later it rained."])
    }

    func testInitialismsAndInitials() {
        XCTAssertEqual(
            sentences("He moved to the U.S. Army base. It was big."),
            ["He moved to the U.S. Army base.", "It was big."])
        XCTAssertEqual(
            sentences("Bring fruit, e.g. Apples, i.e. Something sweet. Fine."),
            ["Bring fruit, e.g. Apples, i.e. Something sweet.", "Fine."])
        XCTAssertEqual(
            sentences("J. R. R. Tolkien wrote it. Then he slept."),
            ["J. R. R. Tolkien wrote it.", "Then he slept."])
        XCTAssertEqual(
            sentences("We met at 5 p.m. Then we left. At 6 p.m. sharp it ended."),
            ["We met at 5 p.m.", "Then we left.", "At 6 p.m. sharp it ended."])
    }

    func testNumberAbbreviationsOnlyBeforeNumbers() {
        XCTAssertEqual(
            sentences("No. 5 was there. See Fig. 2 and Jan. 2024 notes. I said no. Then left."),
            ["No. 5 was there.", "See Fig. 2 and Jan. 2024 notes.", "I said no.", "Then left."])
    }

    func testDecimalsURLsAndEmailsDoNotSplit() {
        XCTAssertEqual(sentences("Pi is 3.14 roughly. Yes."), ["Pi is 3.14 roughly.", "Yes."])
        XCTAssertEqual(
            sentences("Write to hi@example.com or see example.com/a.b?x=1 for more. Thanks."),
            ["Write to hi@example.com or see example.com/a.b?x=1 for more.", "Thanks."])
        XCTAssertEqual(sentences("Visit example.com. Then rest."), ["Visit example.com.", "Then rest."])
    }

    func testNumberedListsKeepTheirMarker() {
        let split = splitter.split("1. First item\n2. Second item. Done.\na. Sub item\nIV. Part four")
        XCTAssertEqual(
            split.paragraphs.map { $0.sentences.map { String($0.text) } },
            [["1. First item"], ["2. Second item.", "Done."], ["a. Sub item"], ["IV. Part four"]])
        XCTAssertEqual(sentences("He counted to 3. Then stopped."), ["He counted to 3.", "Then stopped."])
    }

    func testCJKTerminatorsNeedNoSpace() {
        XCTAssertEqual(sentences("你好。我很好！你呢？"), ["你好。", "我很好！", "你呢？"])
        XCTAssertEqual(sentences("「こんにちは。」と彼は言った。"), ["「こんにちは。」", "と彼は言った。"])
        XCTAssertEqual(sentences("３．１４は数字です。"), ["３．１４は数字です。"])
    }

    func testOtherScripts() {
        XCTAssertEqual(sentences("मैं घर जा रहा हूँ। तुम कहाँ हो?"), ["मैं घर जा रहा हूँ।", "तुम कहाँ हो?"])
        XCTAssertEqual(sentences("كيف حالك؟ أنا بخير."), ["كيف حالك؟", "أنا بخير."])
        XCTAssertEqual(sentences("Привет. Как дела? Хорошо!"), ["Привет.", "Как дела?", "Хорошо!"])
        XCTAssertEqual(sentences("¿Qué pasa? ¡Nada! Bien."), ["¿Qué pasa?", "¡Nada!", "Bien."])
    }

    func testCombiningMarkAfterTerminatorStaysAttached() {
        XCTAssertEqual(sentences("Fin.\u{301} Next one."), ["Fin.\u{301}", "Next one."])
    }

    // MARK: - Paragraphs and reassembly

    func testParagraphLayoutIsKeptVerbatim() throws {
        let text = "  Para one. Sentence two.\n\nPara two.\r\n \r\n\tPara three \n"
        let split = splitter.split(text)
        XCTAssertEqual(split.leadingWhitespace, "  ")
        XCTAssertEqual(
            split.paragraphs.map { String(split.source[$0.range]) },
            ["Para one. Sentence two.", "Para two.", "Para three"])
        XCTAssertEqual(split.paragraphs.map { String($0.separator) }, ["\n\n", "\r\n \r\n\t", ""])
        XCTAssertEqual(split.trailingWhitespace, " \n")
        XCTAssertEqual(
            try split.reassemble(split.sentences.map { $0.text.uppercased() }),
            "  PARA ONE. SENTENCE TWO.\n\nPARA TWO.\r\n \r\n\tPARA THREE \n")
        XCTAssertEqual(
            try split.reassemble(["A", "B", "C", "D"], keepingOuterWhitespace: false),
            "A B\n\nC\r\n \r\n\tD")
    }

    func testSingleSpaceVersusOriginalWhitespaceJoin() throws {
        let split = splitter.split("One.  Two.\u{3000}Three. 你好。再见。")
        XCTAssertEqual(split.sentences.map { String($0.text) }, ["One.", "Two.", "Three.", "你好。", "再见。"])
        let originals = split.sentences.map { String($0.text) }
        XCTAssertEqual(try split.reassemble(originals, joining: .originalWhitespace), split.source)
        XCTAssertEqual(try split.reassemble(originals), "One. Two. Three. 你好。 再见。")
    }

    func testLineBreaksEndParagraphs() {
        let split = splitter.split("Line one\nline two.\u{2028}Three")
        XCTAssertEqual(split.paragraphs.count, 3)
        XCTAssertEqual(split.sentences.map { String($0.text) }, ["Line one", "line two.", "Three"])
    }

    func testBlankTextHasNoSentences() throws {
        for text in ["", " ", "\n\n\t", "\u{3000}\r\n"] {
            let split = splitter.split(text)
            XCTAssertTrue(split.paragraphs.isEmpty)
            XCTAssertEqual(split.leadingWhitespace, Substring(text))
            XCTAssertEqual(try split.reassemble([]), text)
            XCTAssertEqual(try split.reassemble([], keepingOuterWhitespace: false), "")
        }
    }

    func testReassembleRejectsWrongCount() {
        let split = splitter.split("One. Two.")
        XCTAssertThrowsError(try split.reassemble(["only one"])) { error in
            XCTAssertEqual(error as? SegmentationError, .sentenceCountMismatch(expected: 2, got: 1))
        }
    }

    // MARK: - Length guard

    func testLongSentenceIsCutAtTheBestClauseBoundary() throws {
        let first = String(repeating: "word ", count: 20) + "then; "  // semicolon near character 106
        let middle = String(repeating: "more, ", count: 8)  // commas after it
        let sentence = first + middle + String(repeating: "tail ", count: 10) + "end."
        let split = splitter.split(sentence, limit: .characters(160))
        let pieces = split.sentences.map { String($0.text) }
        XCTAssertEqual(pieces.first, first.trimmingCharacters(in: .whitespaces))
        XCTAssertTrue(split.sentences.allSatisfy { $0.isLengthFragment })
        XCTAssertTrue(pieces.allSatisfy { $0.unicodeScalars.count <= 160 })
        XCTAssertEqual(try split.reassemble(pieces, joining: .originalWhitespace), sentence)
    }

    func testClausePunctuationTooEarlyIsIgnored() {
        // A comma at character 6 would leave a tiny piece: cut at the last space instead.
        let sentence = "Well, " + String(repeating: "abcd ", count: 40)
        let pieces = splitter.split(sentence, limit: .characters(50)).sentences.map { String($0.text) }
        XCTAssertEqual(pieces.first, "Well, " + String(repeating: "abcd ", count: 9).dropLast())
        XCTAssertTrue(pieces.allSatisfy { $0.count <= 50 })
    }

    func testUnbrokenWordIsHardCutWithoutLosingCharacters() throws {
        let word = String(repeating: "a", count: 250)
        let split = splitter.split(word, limit: .characters(100))
        XCTAssertEqual(split.sentences.map { $0.text.count }, [100, 100, 50])
        XCTAssertEqual(split.sentences.map { String($0.text) }.joined(), word)
    }

    func testHardCutNeverSplitsAGrapheme() {
        let text = String(repeating: "e\u{301}", count: 100)  // 200 scalars, 100 graphemes
        let pieces = splitter.split(text, limit: .characters(5)).sentences
        XCTAssertTrue(pieces.allSatisfy { $0.text.unicodeScalars.count == 4 })
        XCTAssertEqual(pieces.count, 50)
        // A single grapheme over the limit is kept whole rather than broken.
        let family = "👨‍👩‍👧‍👦"
        XCTAssertEqual(
            splitter.split(family + family, limit: .characters(2)).sentences.map { String($0.text) },
            [family, family])
    }

    func testCJKWithoutSpacesIsCutAfterFullWidthCommas() {
        let clause = String(repeating: "字", count: 19) + "，"
        let text = String(repeating: clause, count: 10) + "。"
        let pieces = splitter.split(text, limit: .characters(50)).sentences.map { String($0.text) }
        XCTAssertEqual(pieces.first, clause + clause)
        XCTAssertTrue(pieces.allSatisfy { $0.unicodeScalars.count <= 50 })
        XCTAssertEqual(pieces.joined(), text)
    }

    func testTokenLimitUsesTheClosure() throws {
        var calls = 0
        let countWords: (String) -> Int = { text in
            calls += 1
            return text.split(separator: " ").count
        }
        let sentence = (1...95).map { "W\($0)" }.joined(separator: " ") + "."
        let split = splitter.split("Short one. " + sentence, limit: .tokens(10, count: countWords))
        let pieces = split.sentences.map { String($0.text) }
        XCTAssertEqual(pieces.first, "Short one.")
        XCTAssertEqual(pieces.count, 1 + 10)
        XCTAssertTrue(pieces.allSatisfy { countWords($0) <= 10 })
        XCTAssertEqual(try split.reassemble(pieces, joining: .originalWhitespace), "Short one. " + sentence)
        XCTAssertLessThan(calls, 200)
    }

    func testDegenerateLimitsStillTerminate() {
        XCTAssertEqual(
            splitter.split("ab cd", limit: .characters(0)).sentences.map { String($0.text) },
            ["a", "b", "c", "d"])
        XCTAssertEqual(
            splitter.split("ab", limit: .tokens(0, count: { $0.count })).sentences.map { String($0.text) },
            ["a", "b"])
    }

    // MARK: - Totality

    func testRandomTextTilesTheSourceExactly() throws {
        let alphabet: [String] = [
            "a", "B", "é", "e\u{301}", " ", "  ", "\n", "\n\n", "\r\n", "\t", ".", "...", "!",
            "?", "…", "。", "！", "\"", "”", "(", ")", "Mr", "U.S", "3", "1", ",", ";", "字",
            "🙂", "👨‍👩‍👧", "\u{3000}", "\u{2028}", "\u{85}", "।", "؟",
        ]
        var generator = SplitterTestRandom(seed: 42)
        for round in 0..<300 {
            let length = Int(generator.next() % 60)
            let text = (0..<length).map { _ in alphabet[Int(generator.next() % UInt64(alphabet.count))] }.joined()
            let limit = 1 + Int(generator.next() % 12)
            for split in [splitter.split(text), splitter.split(text, limit: .characters(limit))] {
                let originals = split.sentences.map { String($0.text) }
                XCTAssertEqual(try split.reassemble(originals, joining: .originalWhitespace), text, "round \(round)")
                for sentence in split.sentences {
                    let scalars = sentence.text.unicodeScalars
                    XCTAssertFalse(scalars.isEmpty)
                    XCTAssertFalse(scalars.first.map(SegmentationScalars.isWhitespace) ?? true, "round \(round)")
                    XCTAssertFalse(scalars.last.map(SegmentationScalars.isWhitespace) ?? true, "round \(round)")
                    XCTAssertFalse(sentence.text.unicodeScalars.contains(where: SegmentationScalars.isLineBreak))
                }
            }
            for piece in splitter.split(text, limit: .characters(limit)).sentences
            where piece.text.unicodeScalars.count > limit {
                XCTAssertEqual(piece.text.count, 1, "only a lone grapheme may exceed the limit: round \(round)")
            }
        }
    }

    func testHugeInputsStayFast() {
        // Linear, not quadratic, in the length of an unbroken or unpunctuated text.
        let noSpaces = String(repeating: "abcdefghij", count: 10_000)
        let start = Date()
        XCTAssertEqual(splitter.split(noSpaces, limit: .characters(200)).sentences.count, 500)
        let words = String(repeating: "lorem ipsum dolor sit amet ", count: 2_000)
        let pieces = splitter.split(words, limit: .tokens(100, count: { $0.split(separator: " ").count })).sentences
        XCTAssertEqual(pieces.count, 100)
        XCTAssertLessThan(Date().timeIntervalSince(start), 10)
    }
}

/// A small deterministic generator, so the random test is reproducible.
private struct SplitterTestRandom {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
