import Foundation
import ReaderCorpus
import XCTest

@testable import Tokenizer

/// Replays Tests/Fixtures/ReaderCorpus/sentencepiece.json: mutated `.model` files. Where the
/// sentencepiece library refuses the model we refuse it with a SentencePieceError; where it
/// loads, we load it and give the same ids.
final class SentencePieceCorpusTests: XCTestCase {
    func testEveryCaseAgreesWithTheSentencePieceLibrary() throws {
        let corpus = try ReaderCorpus("sentencepiece.json")
        let sentences = try XCTUnwrap(corpus.document["sentences"] as? [String])
        var disagreements: [String] = []
        for item in corpus.cases {
            let label = "\(item.id) (\(item.mutation))"
            do {
                let model = try SentencePieceModel(serialized: [UInt8](corpus.bytes(of: item)))
                let processor = try SentencePieceProcessor(model: model)
                let ids = sentences.map { processor.encode($0) }
                if !item.accepted {
                    disagreements.append("\(label): loaded, sentencepiece refuses it: \(item.referenceError ?? "")")
                } else if ids != item.fields["ids"] as? [[Int]] {
                    disagreements.append("\(label): ids \(ids), sentencepiece gives \(item.fields["ids"]!)")
                }
            } catch let error as SentencePieceError {
                if item.accepted { disagreements.append("\(label): refused (\(error)), sentencepiece loads it") }
            } catch {
                disagreements.append("\(label): not a SentencePieceError: \(error)")
            }
        }
        print(
            "sentencepiece corpus: \(corpus.cases.count) cases (\(corpus.cases.filter(\.accepted).count) "
                + "accepted), "
                + "\(disagreements.count) disagreements:\n" + disagreements.joined(separator: "\n"))
        XCTAssertTrue(disagreements.isEmpty, disagreements.joined(separator: "\n"))
    }
}
