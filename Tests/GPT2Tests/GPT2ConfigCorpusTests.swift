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
        let replay = try ConfigCorpusReplay(
            ReaderCorpus("configs.json"), kind: "gpt2",
            load: { folder in
                let config = try GPT2Config.load(directory: folder)
                return [
                    "vocab_size": config.vocabSize, "n_positions": config.nPositions, "n_embd": config.nEmbd,
                    "n_layer": config.nLayer, "n_head": config.nHead, "n_inner": config.nInner,
                    "activation_function": config.activationFunction, "layer_norm_epsilon": config.layerNormEpsilon,
                    "bos_token_id": config.bosTokenID, "eos_token_id": config.eosTokenID,
                ]
            },
            classify: { error in
                guard let error = error as? GPT2Error else { return (false, false) }
                if case .unsupportedConfig = error { return (true, true) }
                return (false, true)
            })
        print("GPT-2 config corpus: " + replay.summary)
        XCTAssertTrue(replay.disagreements.isEmpty, replay.disagreements.joined(separator: "\n"))
        XCTAssertGreaterThan(replay.cases, 100)
    }
}
