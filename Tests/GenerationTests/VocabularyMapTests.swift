import Foundation
import XCTest

@testable import Generation

/// CTranslate2's vmap.txt, read as its `VocabularyMap` reads it, and the candidates of a batch
/// as its `get_candidates` makes them.
final class VocabularyMapTests: XCTestCase {
    /// A toy vocabulary: <unk> 0, <s> 1, </s> 2, <pad> 3, then the words.
    let words = ["<unk>", "<s>", "</s>", "<pad>", "a", "b", "c", "x", "y", "z", "w", "v", "u", "lang"]
    var ids: [String: Int] { Dictionary(uniqueKeysWithValues: words.enumerated().map { ($1, $0) }) }
    func id(_ word: String) -> Int { ids[word]! }

    func map(_ text: String) throws -> VocabularyMap {
        let ids = self.ids
        let words = self.words
        return try VocabularyMap(
            data: Data(text.utf8), name: "test map", tokenID: { ids[$0] }, tokenString: { words[$0] },
            unknownTokenID: 0, specialTokenIDs: [0, 1, 2, 3])
    }

    func candidates(_ map: VocabularyMap, _ sources: [[String]], prefix: [String] = []) -> [String] {
        map.vocabulary(sources: sources.map { $0.map(id) }, targetPrefix: prefix.map(id)).tokens.map { words[$0] }
    }

    func testUnigramsBigramsAndAlwaysCandidates() throws {
        let map = try map("a\tx\nb\ty z\na b\tw\n\tv\n")
        XCTAssertEqual(map.ruleCount, 3)
        XCTAssertEqual(candidates(map, [["a"]]), ["<unk>", "<s>", "</s>", "<pad>", "x", "v"])
        XCTAssertEqual(
            candidates(map, [["b", "a"]]), ["<unk>", "<s>", "</s>", "<pad>", "x", "y", "z", "v"],
            "b a is not the bigram a b")
        XCTAssertEqual(candidates(map, [["a", "b"]]), ["<unk>", "<s>", "</s>", "<pad>", "x", "y", "z", "w", "v"])
        XCTAssertEqual(candidates(map, [["c"]], prefix: ["lang"]), ["<unk>", "<s>", "</s>", "<pad>", "v", "lang"])
    }

    func testABatchTakesTheUnionOfItsSources() throws {
        let map = try map("a\tx\nb\ty\nc\tz\n")
        XCTAssertEqual(candidates(map, [["a"], ["c"]]), ["<unk>", "<s>", "</s>", "<pad>", "x", "z"])
    }

    func testUnknownTargetsAreTheUnknownTokenAndUnknownSourcesNeverMatch() throws {
        let map = try map("a\tnot-a-word x\nnot-a-word\ty\na not-a-word\tz\na  b\tw\n")
        XCTAssertEqual(map.ruleCount, 4)
        // Keys are compared as CTranslate2 compares them, as strings joined by one space: a
        // word outside the vocabulary is in no source, and a key with two spaces matches nothing.
        XCTAssertEqual(candidates(map, [["a", "b"]]), ["<unk>", "<s>", "</s>", "<pad>", "x"])
    }

    func testALaterLineForTheSameNgramReplacesTheEarlierAndCRLFAndBlankLinesAreRead() throws {
        let map = try map("a\tx\r\n\r\na\ty\r\n")
        XCTAssertEqual(candidates(map, [["a"]]), ["<unk>", "<s>", "</s>", "<pad>", "y"])
    }

    func testALineWithoutATabIsAnErrorNamingTheLine() throws {
        XCTAssertThrowsError(try map("a\tx\nb y\n")) { error in
            XCTAssertEqual(
                error as? VocabularyMapError,
                .malformedLine(
                    name: "test map", line: 2, reason: "no tab between the source n-gram and its target tokens"))
            XCTAssertTrue("\(error)".contains("line 2"))
        }
    }

    func testAMissingFileSaysWhich() {
        let url = URL(fileURLWithPath: "/nonexistent/vmap.txt")
        XCTAssertThrowsError(
            try VocabularyMap(
                contentsOf: url, tokenID: { _ in 0 }, tokenString: { _ in "" }, unknownTokenID: 0, specialTokenIDs: [])
        ) { error in
            guard case .unreadable(let path, _)? = error as? VocabularyMapError else { return XCTFail("\(error)") }
            XCTAssertEqual(path, url.path)
        }
    }

    func testOutputVocabularyIsSortedDistinctAndSearchable() {
        let vocabulary = OutputVocabulary([9, 2, 5, 2, 0])
        XCTAssertEqual(vocabulary.tokens, [0, 2, 5, 9])
        XCTAssertEqual((-1...10).filter(vocabulary.contains), [0, 2, 5, 9])
    }

    func testParametersRejectAVocabularyThatCannotWork() {
        var parameters = Seq2SeqParameters(decoderStartTokenID: 2, eosTokenIDs: [2], forcedBOSTokenID: 5)
        parameters.outputVocabulary = OutputVocabulary([2, 4, 5])
        XCTAssertNoThrow(try parameters.validate(vocabularySize: 10))
        parameters.outputVocabulary = OutputVocabulary([2, 4, 10])
        XCTAssertThrowsError(try parameters.validate(vocabularySize: 10)) {
            XCTAssertTrue("\($0)".contains("token 10, outside"), "\($0)")
        }
        parameters.outputVocabulary = OutputVocabulary([-1, 2, 4])
        XCTAssertThrowsError(try parameters.validate(vocabularySize: 10)) {
            XCTAssertTrue("\($0)".contains("token -1, outside"), "\($0)")
        }
        parameters.outputVocabulary = OutputVocabulary([3, 4, 5])
        XCTAssertThrowsError(try parameters.validate(vocabularySize: 10)) {
            XCTAssertTrue("\($0)".contains("lacks the EOS token 2"), "\($0)")
        }
        parameters.outputVocabulary = OutputVocabulary([2, 4, 5])
        parameters.numBeams = 2
        XCTAssertThrowsError(try parameters.validate(vocabularySize: 10)) {
            XCTAssertTrue("\($0)".contains("at least 4 candidate tokens"), "\($0)")
        }
    }
}
