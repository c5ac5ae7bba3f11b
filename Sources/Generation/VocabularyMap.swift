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
/// And sources are token ids here, not strings, so an n-gram whose tokens are not all in the
/// vocabulary can never match.
public struct VocabularyMap: Sendable {
    /// rules[n - 1]: the target tokens of each source n-gram.
    let rules: [[[Int]: [Int]]]
    /// Candidates of every batch.
    let fixed: [Int]

    /// Parses a map file. `tokenID` gives a token string's id, nil when the vocabulary lacks it.
    /// - Throws: `VocabularyMapError` for an unreadable file or a line without a tab.
    public init(contentsOf url: URL, tokenID: (String) -> Int?, unknownTokenID: Int, specialTokenIDs: [Int]) throws {
        let data: Data
        do {
            data = try Data(contentsOf: url)
        } catch {
            throw VocabularyMapError.unreadable(path: url.path, reason: error.localizedDescription)
        }
        try self.init(data: data, name: url.path, tokenID: tokenID, unknownTokenID: unknownTokenID, specialTokenIDs: specialTokenIDs)
    }

    /// Parses a map held in memory; `name` is what errors call it.
    public init(data: Data, name: String = "vocabulary map", tokenID: (String) -> Int?, unknownTokenID: Int, specialTokenIDs: [Int]) throws {
        var rules: [[[Int]: [Int]]] = []
        var always: [Int] = []
        var lineNumber = 0
        try data.withUnsafeBytes { (bytes: UnsafeRawBufferPointer) in
            let tab = UInt8(ascii: "\t"), space = UInt8(ascii: " "), newline = UInt8(ascii: "\n"), carriageReturn = UInt8(ascii: "\r")
            func tokens(_ field: UnsafeRawBufferPointer.SubSequence) -> [String] {
                field.split(separator: space).map { String(decoding: $0, as: UTF8.self) }
            }
            for var line in bytes.split(separator: newline, omittingEmptySubsequences: false) {
                lineNumber += 1
                if line.last == carriageReturn { line = line.dropLast() }
                if line.isEmpty { continue }
                guard let split = line.firstIndex(of: tab) else {
                    throw VocabularyMapError.malformedLine(name: name, line: lineNumber, reason: "no tab between the source n-gram and its target tokens")
                }
                let targets = tokens(line[(split + 1)...]).map { tokenID($0) ?? unknownTokenID }
                let source = tokens(line[..<split])
                if source.isEmpty {
                    always = targets
                    continue
                }
                let key = source.compactMap(tokenID)
                guard key.count == source.count else { continue }  // can never match a source
                while rules.count < key.count { rules.append([:]) }
                rules[key.count - 1][key] = targets
            }
        }
        self.rules = rules
        fixed = specialTokenIDs + always
    }

    /// The n-grams the map has target tokens for.
    public var ruleCount: Int { rules.reduce(0) { $0 + $1.count } }

    /// The candidates for translating `sources` together (one output layer for the batch).
    public func vocabulary(sources: [[Int]], targetPrefix: [Int]) -> OutputVocabulary {
        var candidates = Set(fixed)
        candidates.formUnion(targetPrefix)
        for source in sources {
            for start in source.indices {
                for (n, rule) in rules.enumerated() where start + n < source.count {
                    if let targets = rule[Array(source[start...(start + n)])] { candidates.formUnion(targets) }
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
            return "\(name), line \(line): \(reason). Each line is `source tokens<TAB>target tokens` (CTranslate2's vmap.txt format)."
        }
    }
}
