import XCTest

@testable import Tokenizer

/// The character classes of the split regex, against Swift's own Unicode data.
final class UnicodeCategoriesTests: XCTestCase {
    private static func swiftClass(_ scalar: Unicode.Scalar) -> ScalarClass {
        let properties = scalar.properties
        if properties.isWhitespace { return .whitespace }
        switch properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter: return .letter
        case .decimalNumber, .letterNumber, .otherNumber: return .number
        default: return .other
        }
    }

    /// White_Space agrees everywhere. Letters and numbers differ only where Swift's newer
    /// Unicode knows scalars that HF tokenizers' tables still call unassigned; never the
    /// other way round, and never letter vs number.
    func testTablesDifferFromSwiftOnlyByNewerUnicode() {
        var newer = 0
        for value in UInt32(0)..<0x110000 {
            guard let scalar = Unicode.Scalar(value) else { continue }
            let ours = UnicodeCategories.classify(value)
            let swift = Self.swiftClass(scalar)
            if ours == swift { continue }
            if ours == .other && (swift == .letter || swift == .number)
                && scalar.properties.age.map({ $0.major >= 15 }) != false
            {
                newer += 1
                continue
            }
            XCTFail(
                "U+\(String(value, radix: 16, uppercase: true)): table says \(ours), Swift says \(swift) "
                    + "(Unicode age \(String(describing: scalar.properties.age)))")
            return
        }
        // About 4,600 with Swift 6.3 (Unicode 16/17 additions); zero would mean Swift's data
        // caught up with the reference or the other way round: both fine, but look.
        XCTAssertLessThan(newer, 10_000)
        print("Scalars Swift classifies as letter/number but HF tokenizers does not (newer Unicode): \(newer)")
    }

    func testSamples() {
        XCTAssertEqual(UnicodeCategories.classify(UInt32(UInt8(ascii: "a"))), .letter)
        XCTAssertEqual(UnicodeCategories.classify(UInt32(UInt8(ascii: "7"))), .number)
        XCTAssertEqual(UnicodeCategories.classify(UInt32(UInt8(ascii: "'"))), .other)
        XCTAssertEqual(UnicodeCategories.classify(0x20), .whitespace)
        XCTAssertEqual(UnicodeCategories.classify(0x85), .whitespace)  // NEL
        XCTAssertEqual(UnicodeCategories.classify(0x3000), .whitespace)  // ideographic space
        XCTAssertEqual(UnicodeCategories.classify(0x200B), .other)  // zero width space is not White_Space
        XCTAssertEqual(UnicodeCategories.classify(0x180E), .other)  // Mongolian vowel separator (no longer Zs)
        XCTAssertEqual(UnicodeCategories.classify(0x00BD), .number)  // ½
        XCTAssertEqual(UnicodeCategories.classify(0x0301), .other)  // combining acute
        XCTAssertEqual(UnicodeCategories.classify(0x4E2D), .letter)  // 中
        XCTAssertEqual(UnicodeCategories.classify(0x1F600), .other)  // 😀
        XCTAssertEqual(UnicodeCategories.classify(0xE000), .other)  // private use
        XCTAssertEqual(UnicodeCategories.classify(0xD800), .other)
        XCTAssertEqual(UnicodeCategories.classify(0x110000), .other)
        XCTAssertEqual(
            UnicodeCategories.classify(0xA7CE), .other,
            "newer than the reference's Unicode: not a "
                + "letter yet")
    }
}
