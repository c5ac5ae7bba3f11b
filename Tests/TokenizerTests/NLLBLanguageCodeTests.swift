import XCTest

@testable import Tokenizer

/// FLORES-200 codes: order, names, ids, and the unknown-code error with suggestions.
final class NLLBLanguageCodeTests: XCTestCase {
    func testCodesInTransformersOrder() throws {
        XCTAssertEqual(FloresLanguages.all.count, 202)
        XCTAssertEqual(Set(FloresLanguages.codes).count, 202)
        let ids = try XCTUnwrap(SentencePieceFixtures.nllbExpected.tokenizers["nllb-tiny"]?.language_ids)
        XCTAssertEqual(FloresLanguages.codes, ids.sorted { $0.value < $1.value }.map(\.key))
        XCTAssertEqual(FloresLanguages.codes.first, "ace_Arab")
        XCTAssertEqual(FloresLanguages.codes[46], "eng_Latn")  // 256001 + 46 = 256047 in the real model
        XCTAssertEqual(FloresLanguages.codes.last, "zul_Latn")
    }

    func testNames() {
        XCTAssertEqual(FloresLanguages.name(of: "eng_Latn"), "English")
        XCTAssertEqual(FloresLanguages.name(of: "spa_Latn"), "Spanish")
        XCTAssertEqual(FloresLanguages.name(of: "zho_Hans"), "Chinese (Simplified)")
        XCTAssertEqual(FloresLanguages.name(of: "zho_Hant"), "Chinese (Traditional)")
        XCTAssertEqual(FloresLanguages.name(of: "arb_Arab"), "Modern Standard Arabic")
        XCTAssertNil(FloresLanguages.name(of: "eng_latn"))
        XCTAssertTrue(FloresLanguages.all.allSatisfy { !$0.name.isEmpty })
        XCTAssertTrue(FloresLanguages.all.allSatisfy { NLLBTokenizer.looksLikeLanguageCode($0.code) })
    }

    func testSuggestions() {
        XCTAssertEqual(FloresLanguages.suggestions(for: "eng_latn").first, "eng_Latn")
        XCTAssertEqual(FloresLanguages.suggestions(for: "en").first, "eng_Latn")
        XCTAssertEqual(FloresLanguages.suggestions(for: "eng").first, "eng_Latn")
        XCTAssertEqual(FloresLanguages.suggestions(for: "English").first, "eng_Latn")
        XCTAssertEqual(FloresLanguages.suggestions(for: "en-Latn").first, "eng_Latn")
        XCTAssertEqual(FloresLanguages.suggestions(for: "es").first, "spa_Latn")
        XCTAssertEqual(FloresLanguages.suggestions(for: "spanish").first, "spa_Latn")
        XCTAssertEqual(Array(FloresLanguages.suggestions(for: "zh").prefix(2)), ["zho_Hans", "zho_Hant"])
        XCTAssertEqual(Array(FloresLanguages.suggestions(for: "zho").prefix(2)), ["zho_Hans", "zho_Hant"])
        XCTAssertEqual(FloresLanguages.suggestions(for: "chinese").prefix(2).sorted(), ["zho_Hans", "zho_Hant"])
        XCTAssertEqual(FloresLanguages.suggestions(for: "fra_Latm").first, "fra_Latn")
        XCTAssertEqual(FloresLanguages.suggestions(for: "deu_Latn_").first, "deu_Latn")
        XCTAssertTrue(FloresLanguages.suggestions(for: "qqqqqqqqqq").isEmpty)
        XCTAssertLessThanOrEqual(FloresLanguages.suggestions(for: "a").count, 5)
    }

    func testUnknownCodeErrorListsSuggestions() throws {
        let tokenizer = try NLLBTokenizer(folder: SentencePieceFixtures.nllbTiny)
        for wrong in ["eng_latn", "en", "eng", "English"] {
            XCTAssertThrowsError(try tokenizer.languageTokenID(wrong)) { error in
                guard case .unknownLanguageCode(let code, let suggestions)? = error as? NLLBTokenizerError else {
                    return XCTFail("\(error)")
                }
                XCTAssertEqual(code, wrong)
                XCTAssertEqual(suggestions.first, "eng_Latn")
                XCTAssertTrue("\(error)".contains("eng_Latn (English)"), "\(error)")
            }
        }
        XCTAssertThrowsError(try tokenizer.encodeSource("Hello", language: "xx_Yyyy"))
        XCTAssertThrowsError(try FloresLanguages.validate("Eng_Latn"))
        XCTAssertEqual(try FloresLanguages.validate("eng_Latn"), "eng_Latn")
        XCTAssertEqual("\(NLLBTokenizerError.unknownLanguageCode("zzz", suggestions: []))".contains("FLORES-200"), true)
    }
}
