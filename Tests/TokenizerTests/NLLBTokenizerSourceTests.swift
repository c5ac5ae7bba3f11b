import Foundation
import XCTest

@testable import Tokenizer

/// The two ways to load the NLLB tokenizer (`sentencepiece.bpe.model` or `tokenizer.json`)
/// give identical ids; the vocabulary layout (fairseq offset, language codes, `<mask>`)
/// matches transformers, including its bare-model layout.
final class NLLBTokenizerSourceTests: XCTestCase {
    private func copyFolder(_ files: [URL]) throws -> URL {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("nllb-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        for file in files {
            try FileManager.default.copyItem(at: file, to: folder.appendingPathComponent(file.lastPathComponent))
        }
        return folder
    }

    func testModelAndTokenizerJSONGiveIdenticalIds() throws {
        let fromModel = try NLLBTokenizer(folder: SentencePieceFixtures.nllbTiny, preferring: .sentencePieceModel)
        let fromJSON = try NLLBTokenizer(folder: SentencePieceFixtures.nllbTiny, preferring: .tokenizerJSON)
        XCTAssertEqual(fromModel.vocabularySize, fromJSON.vocabularySize)
        XCTAssertEqual(fromModel.addedTokens, fromJSON.addedTokens)
        XCTAssertEqual(fromModel.specialTokenIDs, fromJSON.specialTokenIDs)
        var texts = SentencePieceFixtures.nllbExpected.tokenizers["nllb-tiny"]!.cases.map(\.text)
        texts += SentencePieceFixtures.spmExpected.models["nllb-tiny-bpe"]!.stress.map(\.text)
        for text in texts {
            XCTAssertEqual(fromModel.encode(text), fromJSON.encode(text), SentencePieceFixtures.show(text))
        }
        for id in 0..<fromModel.vocabularySize {
            XCTAssertEqual(fromModel.token(forID: id), fromJSON.token(forID: id), "token \(id)")
        }
    }

    func testEachFileAlone() throws {
        let tiny = SentencePieceFixtures.nllbTiny
        let modelOnly = try copyFolder([tiny.appendingPathComponent("sentencepiece.bpe.model")])
        let jsonOnly = try copyFolder([tiny.appendingPathComponent("tokenizer.json")])
        defer {
            try? FileManager.default.removeItem(at: modelOnly)
            try? FileManager.default.removeItem(at: jsonOnly)
        }
        let a = try NLLBTokenizer(folder: modelOnly)
        let b = try NLLBTokenizer(folder: jsonOnly)
        let reference = try NLLBTokenizer(folder: tiny)
        XCTAssertEqual(a.vocabularySource, .sentencePieceModel)
        XCTAssertEqual(b.vocabularySource, .tokenizerJSON)
        for tokenizer in [a, b] {
            XCTAssertEqual(tokenizer.vocabularySize, 1404)
            XCTAssertEqual(tokenizer.languageCodes, FloresLanguages.codes)
            XCTAssertEqual(tokenizer.maskID, 1403)
            for text in ["Hello world", "  Der schnelle   Fuchs ", "敏捷的棕色狐狸 eng_Latn </s>"] {
                XCTAssertEqual(
                    try tokenizer.encodeSource(text, language: "spa_Latn"),
                    try reference.encodeSource(text, language: "spa_Latn"))
            }
        }
    }

    /// tokenizer.json as older transformers/tokenizers versions wrote it: merges as
    /// "a b" strings, `add_prefix_space` instead of `prepend_scheme`, whitespace runs
    /// replaced by a space, WhitespaceSplit before Metaspace.
    func testOlderTokenizerJSONFormatGivesSameIds() throws {
        let url = SentencePieceFixtures.nllbTiny.appendingPathComponent("tokenizer.json")
        var json = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any])
        var model = try XCTUnwrap(json["model"] as? [String: Any])
        let merges = try XCTUnwrap(model["merges"] as? [[String]])
        model["merges"] = merges.map { $0.joined(separator: " ") }
        json["model"] = model
        var normalizer = try XCTUnwrap(json["normalizer"] as? [String: Any])
        var list = try XCTUnwrap(normalizer["normalizers"] as? [[String: Any]])
        list[2]["content"] = " "
        normalizer["normalizers"] = list
        json["normalizer"] = normalizer
        json["pre_tokenizer"] = [
            "type": "Sequence",
            "pretokenizers": [
                ["type": "WhitespaceSplit"],
                ["type": "Metaspace", "replacement": "\u{2581}", "add_prefix_space": true],
            ],
        ]
        let folder = try copyFolder([])
        defer { try? FileManager.default.removeItem(at: folder) }
        try JSONSerialization.data(withJSONObject: json).write(to: folder.appendingPathComponent("tokenizer.json"))
        let old = try NLLBTokenizer(folder: folder)
        let reference = try NLLBTokenizer(folder: SentencePieceFixtures.nllbTiny)
        for c in SentencePieceFixtures.nllbExpected.tokenizers["nllb-tiny"]!.cases {
            XCTAssertEqual(old.encode(c.text), c.slow_ids, SentencePieceFixtures.show(c.text))
        }
        XCTAssertEqual(old.vocabularySize, reference.vocabularySize)
    }

    func testPublishedLayoutIds() throws {
        let tokenizer = try NLLBTokenizer(folder: SentencePieceFixtures.nllbTiny)
        let expected = try XCTUnwrap(SentencePieceFixtures.nllbExpected.tokenizers["nllb-tiny"])
        XCTAssertEqual(expected.spm_piece_size, 1200)
        XCTAssertEqual(tokenizer.vocabularySize, 1404)
        XCTAssertEqual([tokenizer.bosID, tokenizer.padID, tokenizer.eosID, tokenizer.unkID], [0, 1, 2, 3])
        XCTAssertEqual(try tokenizer.languageTokenID("eng_Latn"), 1247)
        XCTAssertEqual(try tokenizer.languageTokenID("spa_Latn"), 1361)
        XCTAssertEqual(tokenizer.maskID, expected.special_ids["<mask>"])
        for (code, id) in expected.language_ids {
            XCTAssertEqual(try tokenizer.languageTokenID(code), id, code)
            XCTAssertEqual(tokenizer.languageCode(forTokenID: id), code)
        }
        // The published rule: n-th FLORES code = spm_size + 1 + n.
        for (n, code) in FloresLanguages.codes.enumerated() {
            XCTAssertEqual(try tokenizer.languageTokenID(code), expected.spm_piece_size + 1 + n)
        }
        XCTAssertEqual(tokenizer.specialTokenIDs.count, 4 + 202 + 1)
        XCTAssertEqual(tokenizer.id(forToken: "<unk>"), 3)
        XCTAssertEqual(tokenizer.id(forToken: "no-such-piece"), 3)
        XCTAssertEqual(tokenizer.token(forID: 4), "en")  // spm piece 3
    }

    func testBareModelLayouts() throws {
        let expected = try XCTUnwrap(SentencePieceFixtures.nllbExpected.tokenizers["nllb-tiny"]?.bare_model_layout)
        let transformersLayout = try NLLBTokenizer(
            sentencePieceModel: SentencePieceFixtures.nllbTinyBPEModel,
            bareModelLayout: .transformersBareModel)
        XCTAssertEqual(transformersLayout.vocabularySize, expected.vocab_size)
        for (token, id) in expected.ids {
            XCTAssertEqual(transformersLayout.id(forToken: token), id, token)
        }
        for (text, ids) in zip(expected.texts, expected.source_eng) {
            XCTAssertEqual(try transformersLayout.encodeSource(text, language: "eng_Latn"), ids, text)
        }
        let published = try NLLBTokenizer(sentencePieceModel: SentencePieceFixtures.nllbTinyBPEModel)
        XCTAssertEqual(try published.languageTokenID("eng_Latn"), 1247)
        XCTAssertEqual(published.maskID, 1403)
        XCTAssertEqual(try transformersLayout.languageTokenID("eng_Latn"), 1248)
        XCTAssertEqual(transformersLayout.maskID, 1201)
    }

    func testUnigramTokenizerJSONMatchesSentencePieceOnStressCorpus() throws {
        let tokenizer = try NLLBTokenizer(folder: SentencePieceFixtures.nllbTinyUnigramFolder)
        let spm = try SentencePieceProcessor(contentsOf: SentencePieceFixtures.tinyUnigramModel)
        // Texts with special tokens typed in are split by NLLB first; leave them out here.
        for c in SentencePieceFixtures.spmExpected.models["tiny-unigram"]!.stress
        where !["<s>", "</s>", "<unk>", "<pad>", "<mask>"].contains(where: {
            Array(c.text.utf8).containsSequence(Array($0.utf8))
        }) {
            XCTAssertEqual(
                tokenizer.encode(c.text), c.ids.map { $0 == 0 ? 3 : $0 + 1 }, SentencePieceFixtures.show(c.text))
        }
        XCTAssertEqual(tokenizer.vocabularySize, spm.vocabularySize + 1 + 202 + 1)
    }
}

extension Array where Element == UInt8 {
    /// Byte-wise substring test (String.contains compares grapheme clusters: "<s>" is
    /// not found in "<s>\u{E48}").
    func containsSequence(_ needle: [UInt8]) -> Bool {
        guard !needle.isEmpty, needle.count <= count else { return needle.isEmpty }
        return (0...(count - needle.count)).contains { Array(self[$0..<($0 + needle.count)]) == needle }
    }
}
