import Foundation
import ReaderCorpus
import XCTest

@testable import Tokenizer

/// Replays Tests/Fixtures/ReaderCorpus/tokenizer-folders.json: tokenizer folders (the tiny
/// GPT-2's, nllb-tiny's) with one file mutated. Where transformers' `AutoTokenizer` refuses the
/// folder we refuse it with an error naming a file of it; where it loads, we load the same
/// files and give the same ids.
final class TokenizerFolderCorpusTests: XCTestCase {
    func testEveryCaseAgreesWithTransformers() throws {
        let corpus = try ReaderCorpus("tokenizer-folders.json")
        let sentences = try XCTUnwrap(corpus.document["sentences"] as? [String: [String]])
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent(
            "tokenizer-corpus-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: scratch) }

        var disagreements: [String] = []
        var deliberatelyUnsupported: [String] = []
        for item in corpus.cases {
            let folder = scratch.appendingPathComponent(item.id)
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            let source = ReaderCorpus.fixtures.appendingPathComponent(item.fields["folder"] as! String)
            let files = item.fields["files"] as! [String]
            for file in files {
                try FileManager.default.copyItem(
                    at: source.appendingPathComponent(file), to: folder.appendingPathComponent(file))
            }
            for (file, splices) in item.fields["edits"] as? [String: [[Any]]] ?? [:] {
                let url = folder.appendingPathComponent(file)
                try ReaderCorpus.apply(splices, to: Data(contentsOf: url)).write(to: url)
            }
            let mutated = item.fields["file"] as! String
            try corpus.bytes(of: item).write(to: folder.appendingPathComponent(mutated))
            let label = "\(item.id) (\(mutated): \(item.mutation))"
            let kind = item.fields["kind"] as! String
            do {
                let ids: [[Int]]
                if kind == "gpt2" {
                    let tokenizer = try ByteLevelBPETokenizer.load(directory: folder)
                    ids = sentences[kind]!.map { tokenizer.encode($0) }
                } else {
                    let tokenizer = try NLLBTokenizer(folder: folder)
                    ids = try sentences[kind]!.map {
                        try tokenizer.encodeSource($0, language: "eng_Latn", style: .fast)
                    }
                }
                if !item.accepted {
                    disagreements.append("\(label): loaded, transformers refuses it: \(item.referenceError ?? "")")
                } else if ids != item.fields["ids"] as? [[Int]] {
                    disagreements.append("\(label): ids \(ids), transformers gives \(item.fields["ids"]!)")
                }
            } catch {
                let message = "\(error)"
                if item.accepted && Self.isDeliberatelyUnsupported(error) {
                    deliberatelyUnsupported.append("\(label): \(message)")
                } else if item.accepted {
                    disagreements.append("\(label): refused (\(message)), transformers loads it")
                } else if !(files + [folder.path]).contains(where: message.contains) {
                    disagreements.append("\(label): the message names no file of the folder: \(message)")
                } else if !(error is TokenizerError || error is NLLBTokenizerError || error is SentencePieceError) {
                    disagreements.append("\(label): not a typed tokenizer error: \(message)")
                }
            }
            try? FileManager.default.removeItem(at: folder)
        }
        let accepted = corpus.cases.filter(\.accepted).count
        print(
            "tokenizer folder corpus: \(corpus.cases.count) cases (\(accepted) accepted by transformers), "
                + "\(disagreements.count) disagreements, \(deliberatelyUnsupported.count) refused as deliberately "
                + "unsupported:\n"
                + deliberatelyUnsupported.joined(separator: "\n"))
        XCTAssertTrue(disagreements.isEmpty, disagreements.joined(separator: "\n"))
        XCTAssertGreaterThan(corpus.cases.count, 200)
        XCTAssertLessThan(
            deliberatelyUnsupported.count, 20,
            "refusing more than the reference is for a few "
                + "deliberate cases only")
    }

    /// Refusals that go beyond the reference on purpose, each saying so: components we do not
    /// implement (a tokenizer.json with no decoder, truncation or padding, a WordPiece model...)
    /// and ids we do not take (booleans, 2^31 and more).
    static func isDeliberatelyUnsupported(_ error: Error) -> Bool {
        if case .unsupported? = error as? TokenizerError { return true }
        if case .unsupportedTokenizerJSON? = error as? NLLBTokenizerError { return true }
        return false
    }
}
