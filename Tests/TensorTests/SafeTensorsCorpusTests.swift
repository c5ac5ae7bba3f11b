import Foundation
import ReaderCorpus
import XCTest

@testable import Tensor

/// Replays Tests/Fixtures/ReaderCorpus/safetensors.json: every mutated file the safetensors
/// library refuses, we refuse with a TensorError naming the file; every file it opens, we open
/// with the same tensors (names, dtypes, shapes) and the same values.
final class SafeTensorsCorpusTests: XCTestCase {
    func testEveryCaseAgreesWithTheSafetensorsLibrary() throws {
        let corpus = try ReaderCorpus("safetensors.json")
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent(
            "safetensors-corpus-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appendingPathComponent("case.safetensors").path

        var disagreements: [String] = []
        for item in corpus.cases {
            try corpus.bytes(of: item).write(to: URL(fileURLWithPath: path))
            let label = "\(item.id) (\(item.mutation))"
            do {
                let file = try SafeTensorsFile(path: path)
                guard item.accepted else {
                    disagreements.append("\(label): accepted, the library refuses it: \(item.referenceError ?? "")")
                    continue
                }
                let (count, hash) = try Self.summary(of: file)
                if count != item.fields["tensor_count"] as? Int || hash != item.fields["tensors_hash"] as? String {
                    disagreements.append(
                        "\(label): \(count) tensors hashing to \(hash), the library reads "
                            + "\(item.fields["tensor_count"]!) hashing to \(item.fields["tensors_hash"]!)")
                }
            } catch let error as TensorError {
                if item.accepted {
                    disagreements.append("\(label): refused (\(error)), the library opens it")
                } else if !error.description.contains(path) {
                    disagreements.append("\(label): the message does not name the file: \(error)")
                }
            } catch {
                disagreements.append("\(label): not a TensorError: \(error)")
            }
        }
        let accepted = corpus.cases.filter(\.accepted).count
        print(
            "safetensors corpus: \(corpus.cases.count) cases (\(accepted) accepted by the library), "
                + "\(disagreements.count) disagreements")
        XCTAssertTrue(disagreements.isEmpty, disagreements.joined(separator: "\n"))
        XCTAssertGreaterThan(corpus.cases.count, 300)
        XCTAssertGreaterThan(accepted, 50)
    }

    /// The lines "name|dtype|[shape]|value hash" of the tensors in code-point order of their
    /// names, hashed together, as make_safetensors_corpus.py writes them.
    static func summary(of file: SafeTensorsFile) throws -> (count: Int, hash: String) {
        let names = file.tensors.keys.sorted {
            $0.unicodeScalars.lexicographicallyPrecedes($1.unicodeScalars) { $0.value < $1.value }
        }
        var lines = ""
        for name in names {
            let view = file.view(name)!
            lines += "\(name)|\(view.dtype.rawValue)|\(view.shape)|\(try valueHash(view))\n"
        }
        return (names.count, fnv1a64(Array(lines.utf8)))
    }

    static func valueHash(_ view: TensorView) throws -> String {
        switch view.dtype {
        case .f32, .f16, .bf16:
            let values = try view.floats().toArray().map { $0.isNaN ? Float(bitPattern: 0x7FC0_0000) : $0 }
            return values.withUnsafeBytes { fnv1a64($0) }
        case .f6E2M3, .f6E3M2:
            return "None"  // torch has no type for F6 values
        default:
            return fnv1a64(view.bytes)
        }
    }
}
