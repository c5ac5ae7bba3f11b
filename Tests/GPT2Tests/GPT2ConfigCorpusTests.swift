import Foundation
import ReaderCorpus
import XCTest
@testable import GPT2

/// Replays the GPT-2 cases of Tests/Fixtures/ReaderCorpus/configs.json: where transformers
/// cannot load the config or build GPT2LMHeadModel from it, `GPT2Config.load` refuses it with a
/// GPT2Error naming config.json; where it can, we read the same values. Refusing more is kept to
/// `unsupportedConfig`, which says what we deliberately do not implement.
final class GPT2ConfigCorpusTests: XCTestCase {
    func testEveryCaseAgreesWithTransformers() throws {
        let corpus = try ReaderCorpus("configs.json")
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("gpt2-config-corpus-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        var disagreements: [String] = [], deliberate: [String] = []
        let cases = corpus.cases.filter { $0.fields["kind"] as? String == "gpt2" }
        for item in cases {
            try corpus.bytes(of: item).write(to: folder.appendingPathComponent("config.json"))
            let label = "\(item.id) (\(item.mutation))"
            do {
                let config = try GPT2Config.load(directory: folder)
                guard item.accepted else {
                    disagreements.append("\(label): loaded, transformers refuses it: \(item.referenceError ?? "")")
                    continue
                }
                let ours: [String: Any?] = [
                    "vocab_size": config.vocabSize, "n_positions": config.nPositions, "n_embd": config.nEmbd,
                    "n_layer": config.nLayer, "n_head": config.nHead, "n_inner": config.nInner,
                    "activation_function": config.activationFunction, "layer_norm_epsilon": config.layerNormEpsilon,
                    "bos_token_id": config.bosTokenID, "eos_token_id": config.eosTokenID,
                ]
                if let mismatch = ConfigValues.firstMismatch(ours, item.fields["values"] as! [String: Any]) {
                    disagreements.append("\(label): \(mismatch)")
                }
            } catch let error as GPT2Error {
                if item.accepted, case .unsupportedConfig = error {
                    deliberate.append("\(label): \(error)")
                } else if item.accepted {
                    disagreements.append("\(label): refused (\(error)), transformers loads it")
                } else if !"\(error)".contains("config.json") {
                    disagreements.append("\(label): the message does not name config.json: \(error)")
                }
            } catch {
                disagreements.append("\(label): not a GPT2Error: \(error)")
            }
        }
        print("GPT-2 config corpus: \(cases.count) cases, \(disagreements.count) disagreements, "
              + "\(deliberate.count) refused as deliberately unsupported:\n" + deliberate.joined(separator: "\n"))
        XCTAssertTrue(disagreements.isEmpty, disagreements.joined(separator: "\n"))
        XCTAssertGreaterThan(cases.count, 100)
    }
}

/// Compares the values a config reader took with the ones transformers' config holds.
enum ConfigValues {
    static func firstMismatch(_ ours: [String: Any?], _ reference: [String: Any]) -> String? {
        for (key, value) in ours.sorted(by: { $0.key < $1.key }) {
            let expected = reference[key]
            let same: Bool
            switch (value, expected) {
            case (nil, is NSNull?), (nil, nil): same = true
            // Python's True is the integer 1; flags are compared for their truthiness.
            case (let v as Int, let e as NSNumber): same = e.doubleValue == Double(v)
            case (let v as Float, let e as NSNumber): same = abs(Double(v) - e.doubleValue) <= 1e-6 * max(1, abs(e.doubleValue))
            case (let v as Bool, let e as NSNumber): same = (e.doubleValue != 0) == v
            case (let v as Bool, let e as String): same = !e.isEmpty == v
            case (let v as Bool, let e as [Any]): same = !e.isEmpty == v
            case (let v as Bool, let e as [String: Any]): same = !e.isEmpty == v
            case (let v as Bool, is NSNull): same = !v
            case (let v as String, let e as String): same = v == e
            default: same = false
            }
            if !same { return "\(key) is \(value.map { "\($0)" } ?? "null"), transformers has \(expected.map { "\($0)" } ?? "nothing")" }
        }
        return nil
    }
}
