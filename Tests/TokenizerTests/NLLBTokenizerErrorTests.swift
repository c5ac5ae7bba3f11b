import Foundation
import XCTest

@testable import Tokenizer

/// Missing, damaged and inconsistent tokenizer folders give typed errors.
final class NLLBTokenizerErrorTests: XCTestCase {
    private var folders: [URL] = []

    override func tearDown() {
        for folder in folders { try? FileManager.default.removeItem(at: folder) }
        folders = []
    }

    private func folder(_ files: [String: Data]) throws -> URL {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("nllb-err-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        for (name, data) in files { try data.write(to: folder.appendingPathComponent(name)) }
        folders.append(folder)
        return folder
    }

    private func fixture(_ name: String) throws -> Data {
        try Data(contentsOf: SentencePieceFixtures.nllbTiny.appendingPathComponent(name))
    }

    func testMissingFiles() throws {
        let empty = try folder([:])
        XCTAssertThrowsError(try NLLBTokenizer(folder: empty)) { error in
            XCTAssertEqual(error as? NLLBTokenizerError, .missingTokenizerFiles(folder: empty.path))
            XCTAssertTrue("\(error)".contains("sentencepiece.bpe.model"))
        }
        let nowhere = empty.appendingPathComponent("nope")
        XCTAssertThrowsError(try NLLBTokenizer(folder: nowhere))
        XCTAssertThrowsError(try NLLBTokenizer(sentencePieceModel: nowhere.appendingPathComponent("x.model"))) {
            error in
            guard case .sentencePiece(.fileNotFound, _)? = error as? NLLBTokenizerError else {
                return XCTFail("\(error)")
            }
        }
    }

    func testTruncatedModel() throws {
        let model = try fixture("sentencepiece.bpe.model")
        let dir = try folder(["sentencepiece.bpe.model": model.prefix(model.count / 2)])
        XCTAssertThrowsError(try NLLBTokenizer(folder: dir)) { error in
            guard case .sentencePiece(.malformedProtobuf, _)? = error as? NLLBTokenizerError else {
                return XCTFail("\(error)")
            }
        }
    }

    func testDamagedTokenizerJSON() throws {
        let json = try fixture("tokenizer.json")
        XCTAssertThrowsError(try NLLBTokenizer(folder: folder(["tokenizer.json": json.prefix(1000)]))) { error in
            guard case .invalidJSON? = error as? NLLBTokenizerError else { return XCTFail("\(error)") }
        }
        XCTAssertThrowsError(try NLLBTokenizer(folder: folder(["tokenizer.json": Data("[1, 2]".utf8)]))) { error in
            guard case .invalidJSON? = error as? NLLBTokenizerError else { return XCTFail("\(error)") }
        }
        let wordPiece =
            #"{"model": {"type": "WordPiece", "vocab": {}}, "pre_tokenizer": {"type": "Metaspace", "replacement": "▁"}}"#
        XCTAssertThrowsError(try NLLBTokenizer(folder: folder(["tokenizer.json": Data(wordPiece.utf8)]))) { error in
            guard case .unsupportedTokenizerJSON? = error as? NLLBTokenizerError else { return XCTFail("\(error)") }
            XCTAssertTrue("\(error)".contains("WordPiece"))
        }
        let byteLevel =
            #"{"model": {"type": "BPE", "vocab": {}, "merges": []}, "pre_tokenizer": {"type": "ByteLevel"}}"#
        XCTAssertThrowsError(try NLLBTokenizer(folder: folder(["tokenizer.json": Data(byteLevel.utf8)]))) { error in
            guard case .unsupportedTokenizerJSON? = error as? NLLBTokenizerError else { return XCTFail("\(error)") }
        }
    }

    func testInconsistentFiles() throws {
        var config = try JSONSerialization.jsonObject(with: fixture("tokenizer_config.json")) as! [String: Any]
        var decoder = config["added_tokens_decoder"] as! [String: Any]
        decoder["1247"] = ["content": "fra_Latn", "special": true]
        config["added_tokens_decoder"] = decoder
        let dir = try folder([
            "tokenizer.json": fixture("tokenizer.json"),
            "tokenizer_config.json": JSONSerialization.data(withJSONObject: config),
        ])
        XCTAssertThrowsError(try NLLBTokenizer(folder: dir)) { error in
            guard case .inconsistentFiles? = error as? NLLBTokenizerError else { return XCTFail("\(error)") }
        }
        let badConfig = try folder([
            "sentencepiece.bpe.model": fixture("sentencepiece.bpe.model"),
            "tokenizer_config.json": Data("{not json".utf8),
        ])
        XCTAssertThrowsError(try NLLBTokenizer(folder: badConfig)) { error in
            guard case .invalidJSON? = error as? NLLBTokenizerError else { return XCTFail("\(error)") }
        }
    }
}
