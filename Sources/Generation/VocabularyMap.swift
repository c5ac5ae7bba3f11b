import Foundation

/// A vocabulary map in CTranslate2's format (`vmap.txt`, what its converters' `--vocab_mapping`
/// takes): which target tokens may appear in a translation, given the source tokens.
///
///     <source n-gram, tokens separated by spaces>\t<target tokens separated by spaces>
///
/// A line with an empty source side lists tokens that are always candidates. The candidates of
/// a batch are, as CTranslate2's `VocabularyMap::get_candidates` makes them: the special
/// tokens given at load (CTranslate2: unknown, begin, end), the always-candidates, the target
/// prefix (the language code), and the targets of every n-gram of every source (its language
/// code and `</s>` included) that the map has a line for. A target token the vocabulary lacks
/// counts as the unknown token; a later line for the same n-gram replaces the earlier one.
/// Checked against CTranslate2 4.8.5 by the tiny NLLB fixture (`tiny.vmap-reference.json`).
///
/// Two differences, both on input CTranslate2 reads oddly: a blank line is skipped (CTranslate2
/// reads it as an empty always-candidate list that replaces the real one) and a non-blank
/// line without a tab is an error (CTranslate2 makes the whole line one always-candidate).
public struct VocabularyMap: Sendable {
    /// The file, whose target lists are read only for the n-grams a batch has.
    private let text: [UInt8]
    /// Each source n-gram (tokens joined by single spaces, as CTranslate2 keys them) and where
    /// its target tokens lie in `text`.
    private let rules: [String: Range<Int>]
    /// Tokens in the longest n-gram.
    private let longest: Int
    /// Candidates of every batch.
    private let fixed: [Int]
    private let tokenID: @Sendable (String) -> Int?
    private let tokenString: @Sendable (Int) -> String?
    private let unknownTokenID: Int

    /// Reads a map file. `tokenID` gives a token string's id (nil when the vocabulary lacks it),
    /// `tokenString` an id's string.
    /// - Throws: `VocabularyMapError` for an unreadable file or a line without a tab.
    public init(
        contentsOf url: URL, tokenID: @escaping @Sendable (String) -> Int?,
        tokenString: @escaping @Sendable (Int) -> String?,
        unknownTokenID: Int, specialTokenIDs: [Int]
    ) throws {
        let data: Data
        do {
            data = try Data(contentsOf: url)
        } catch {
            throw VocabularyMapError.unreadable(path: url.path, reason: error.localizedDescription)
        }
        try self.init(
            data: data, name: url.path, tokenID: tokenID, tokenString: tokenString, unknownTokenID: unknownTokenID,
            specialTokenIDs: specialTokenIDs)
    }

    /// Reads a map held in memory; `name` is what errors call it.
    ///
    /// Only the source n-grams are indexed here; a line's target tokens are looked up when a
    /// batch's source has its n-gram. A 256k-line map with 2.3M target tokens took 1.3 s to
    /// load with every target resolved up front (one random access into the tokenizer's table
    /// each), most of a `translate` call.
    public init(
        data: Data, name: String = "vocabulary map", tokenID: @escaping @Sendable (String) -> Int?,
        tokenString: @escaping @Sendable (Int) -> String?, unknownTokenID: Int, specialTokenIDs: [Int]
    ) throws {
        let text = [UInt8](data)
        var rules: [String: Range<Int>] = [:]
        var longest = 0
        var always: Range<Int>?
        var lineNumber = 0
        let tab = UInt8(ascii: "\t")
        let space = UInt8(ascii: " ")
        let newline = UInt8(ascii: "\n")
        let carriageReturn = UInt8(ascii: "\r")
        var start = 0
        while start < text.count {
            var end = start
            while end < text.count && text[end] != newline { end += 1 }
            let next = end + 1
            lineNumber += 1
            if end > start && text[end - 1] == carriageReturn { end -= 1 }
            defer { start = next }
            if end == start { continue }
            guard let split = text[start..<end].firstIndex(of: tab) else {
                throw VocabularyMapError.malformedLine(
                    name: name, line: lineNumber,
                    reason: "no tab between the "
                        + "source n-gram and its target tokens")
            }
            let targets = (split + 1)..<end
            if split == start {
                always = targets
                continue
            }
            rules[String(decoding: text[start..<split], as: UTF8.self)] = targets
            longest = max(longest, 1 + text[start..<split].reduce(0) { $0 + ($1 == space ? 1 : 0) })
        }
        self.text = text
        self.rules = rules
        self.longest = longest
        self.tokenID = tokenID
        self.tokenString = tokenString
        self.unknownTokenID = unknownTokenID
        fixed =
            specialTokenIDs
            + (always.map { Self.ids(of: text[$0], tokenID: tokenID, unknownTokenID: unknownTokenID) } ?? [])
    }

    /// The ids of space-separated tokens, unknown ones as the unknown token.
    private static func ids(of tokens: ArraySlice<UInt8>, tokenID: (String) -> Int?, unknownTokenID: Int) -> [Int] {
        tokens.split(separator: UInt8(ascii: " ")).map {
            tokenID(String(decoding: $0, as: UTF8.self)) ?? unknownTokenID
        }
    }

    /// The source n-grams the map has target tokens for.
    public var ruleCount: Int { rules.count }

    /// The candidates for translating `sources` together (one output layer for the batch).
    public func vocabulary(sources: [[Int]], targetPrefix: [Int]) -> OutputVocabulary {
        var candidates = Set(fixed)
        candidates.formUnion(targetPrefix)
        for source in sources {
            let strings = source.map { tokenString($0) }
            for start in strings.indices {
                var key = ""
                for end in start..<min(start + longest, strings.count) {
                    guard let token = strings[end] else { break }  // no key spells an unknown id
                    key += end == start ? token : " " + token
                    if let targets = rules[key] {
                        candidates.formUnion(
                            Self.ids(of: text[targets], tokenID: tokenID, unknownTokenID: unknownTokenID))
                    }
                }
            }
        }
        return OutputVocabulary(candidates)
    }
}

/// Why a vocabulary map could not be read.
public enum VocabularyMapError: Error, CustomStringConvertible, Equatable {
    case unreadable(path: String, reason: String)
    case malformedLine(name: String, line: Int, reason: String)

    public var description: String {
        switch self {
        case .unreadable(let path, let reason):
            return "cannot read the vocabulary map \(path): \(reason). Check the path."
        case .malformedLine(let name, let line, let reason):
            return "\(name), line \(line): \(reason). Each line is `source tokens<TAB>target tokens` "
                + "(CTranslate2's vmap.txt format)."
        }
    }
}
