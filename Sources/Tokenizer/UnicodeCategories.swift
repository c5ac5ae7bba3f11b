/// The three character classes GPT-2's pre-tokenization regex distinguishes
/// (`\p{L}`, `\p{N}`, `\s`), plus everything else.
enum ScalarClass: UInt8 {
    case other = 0
    case letter = 1
    case number = 2
    case whitespace = 3
}

/// Classifies scalars exactly as Hugging Face tokenizers' regex engine does.
///
/// Why not `Unicode.Scalar.Properties.generalCategory`: the answer has to match the
/// reference tokenizer, not the newest Unicode. tokenizers (Oniguruma) ships older
/// Unicode tables than Swift 6.3's standard library, so about 4,600 recently assigned
/// scalars are letters or numbers for Swift but "other" for the reference, and they
/// change where pieces are cut. `UnicodeCategoryTables` holds the reference's view,
/// probed from tokenizers itself; the test suite lists how it differs from Swift's.
/// White_Space (`\s`) agrees: the same 25 scalars in both.
enum UnicodeCategories {
    /// One byte per scalar (1.1 MB, built once on first use): a lookup is then a single
    /// load, which matters because every input scalar is classified.
    private static let table: [UInt8] = {
        var table = [UInt8](repeating: ScalarClass.other.rawValue, count: 0x110000)
        table.withUnsafeMutableBufferPointer { buffer in
            func fill(_ ranges: [UInt32], _ value: ScalarClass) {
                var i = 0
                while i + 1 < ranges.count {
                    for scalar in Int(ranges[i])...Int(ranges[i + 1]) { buffer[scalar] = value.rawValue }
                    i += 2
                }
            }
            fill(UnicodeCategoryTables.letterRanges, .letter)
            fill(UnicodeCategoryTables.numberRanges, .number)
            fill(UnicodeCategoryTables.whitespaceRanges, .whitespace)
        }
        return table
    }()

    /// Classes of ASCII scalars, kept apart so that ASCII text never touches the big table.
    private static let asciiTable: [UInt8] = Array(table[0..<128])

    /// The class of a scalar value; values that are not scalars (surrogates, > 0x10FFFF) are `.other`.
    @inline(__always)
    static func classify(_ value: UInt32) -> ScalarClass {
        if value < 128 { return ScalarClass(rawValue: asciiTable[Int(value)])! }
        if value >= 0x110000 { return .other }
        return ScalarClass(rawValue: table[Int(value)])!
    }
}
