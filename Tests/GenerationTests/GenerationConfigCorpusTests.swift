import Foundation
import ReaderCorpus
import XCTest

@testable import Generation

/// Replays Tests/Fixtures/ReaderCorpus/generation-configs.json: where transformers'
/// `GenerationConfig.from_pretrained` refuses the file, `GenerationConfigFile.parse` refuses it
/// naming the file; where it loads, we read the same values, or refuse a value of another kind
/// than the one used, saying that we deliberately do not take it.
final class GenerationConfigCorpusTests: XCTestCase {
    func testEveryCaseAgreesWithTransformers() throws {
        let corpus = try ReaderCorpus("generation-configs.json")
        let path = "/models/x/generation_config.json"
        var disagreements: [String] = []
        var deliberate: [String] = []
        for item in corpus.cases {
            let label = "\(item.id) (\(item.mutation))"
            do {
                let config = try GenerationConfigFile.parse(corpus.bytes(of: item), path: path)
                guard item.accepted else {
                    disagreements.append("\(label): loaded, transformers refuses it: \(item.referenceError ?? "")")
                    continue
                }
                if let mismatch = Self.firstMismatch(config, item.fields["values"] as! [String: Any]) {
                    disagreements.append("\(label): \(mismatch)")
                }
            } catch let error as GenerationError {
                let message = "\(error)"
                if item.accepted && message.contains("deliberately") {
                    deliberate.append("\(label): \(message)")
                } else if item.accepted {
                    disagreements.append("\(label): refused (\(message)), transformers loads it")
                } else if !message.contains(path) {
                    disagreements.append("\(label): the message does not name the file: \(message)")
                }
            }
        }
        print(
            "generation_config corpus: \(corpus.cases.count) cases, \(disagreements.count) disagreements, "
                + "\(deliberate.count) refused as deliberately unsupported:\n" + deliberate.joined(separator: "\n"))
        XCTAssertTrue(disagreements.isEmpty, disagreements.joined(separator: "\n"))
        XCTAssertGreaterThan(corpus.cases.count, 200)
    }

    /// Our values against transformers' attributes (Python's True is 1; an absent key is None there).
    static func firstMismatch(_ config: GenerationConfigFile, _ reference: [String: Any]) -> String? {
        func number(_ value: Any?) -> Double? {
            guard let n = value as? NSNumber else { return nil }
            return n.doubleValue
        }
        let checks: [(String, Double?)] = [
            ("temperature", config.temperature.map(Double.init)), ("top_k", config.topK.map(Double.init)),
            ("top_p", config.topP.map(Double.init)), ("min_p", config.minP.map(Double.init)),
            ("repetition_penalty", config.repetitionPenalty.map(Double.init)),
            ("no_repeat_ngram_size", config.noRepeatNgramSize.map(Double.init)),
            ("max_length", config.maxLength.map(Double.init)),
            ("max_new_tokens", config.maxNewTokens.map(Double.init)),
            ("bos_token_id", config.bosTokenID.map(Double.init)),
            ("pad_token_id", config.padTokenID.map(Double.init)),
            ("decoder_start_token_id", config.decoderStartTokenID.map(Double.init)),
            ("forced_bos_token_id", config.forcedBOSTokenID.map(Double.init)),
            ("num_beams", config.numBeams.map(Double.init)),
            ("length_penalty", config.lengthPenalty.map(Double.init)),
            ("do_sample", config.doSample.map { $0 ? 1 : 0 }),
        ]
        for (key, ours) in checks {
            // transformers fills absent keys with its defaults; we record only what the file states.
            guard let ours else { continue }
            guard let theirs = number(reference[key]), abs(theirs - ours) <= 1e-6 * max(1, abs(theirs)) else {
                return "\(key) is \(ours), transformers has \(reference[key] ?? "nothing")"
            }
        }
        if let ids = config.eosTokenIDs {
            let theirs = reference["eos_token_id"]
            let list = (theirs as? [Any])?.compactMap(number) ?? number(theirs).map { [$0] } ?? []
            if list != ids.map(Double.init) { return "eos_token_id is \(ids), transformers has \(theirs ?? "nothing")" }
        }
        return nil
    }
}
