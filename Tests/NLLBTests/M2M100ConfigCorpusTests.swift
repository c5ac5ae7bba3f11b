import Foundation
import ReaderCorpus
import XCTest

@testable import NLLB

/// Replays the M2M100 cases of Tests/Fixtures/ReaderCorpus/configs.json: where transformers
/// cannot load the config or build M2M100ForConditionalGeneration from it, `M2M100Config.load` refuses it with a
/// M2M100Error naming config.json; where it can, we read the same values. Refusing more is kept to
/// `unsupportedConfig`, which says what we deliberately do not implement.
final class M2M100ConfigCorpusTests: XCTestCase {
    func testEveryCaseAgreesWithTransformers() throws {
        let replay = try ConfigCorpusReplay(
            ReaderCorpus("configs.json"), kind: "m2m_100",
            load: { folder in
                let config = try M2M100Config.load(directory: folder)
                return [
                    "vocab_size": config.vocabSize, "d_model": config.dModel, "encoder_layers": config.encoderLayers,
                    "decoder_layers": config.decoderLayers, "encoder_attention_heads": config.encoderAttentionHeads,
                    "decoder_attention_heads": config.decoderAttentionHeads, "encoder_ffn_dim": config.encoderFFNDim,
                    "decoder_ffn_dim": config.decoderFFNDim, "max_position_embeddings": config.maxPositionEmbeddings,
                    "activation_function": config.activationFunction, "scale_embedding": config.scaleEmbedding,
                    "pad_token_id": config.padTokenID, "bos_token_id": config.bosTokenID,
                    "eos_token_id": config.eosTokenID,
                    "decoder_start_token_id": config.decoderStartTokenID,
                ]
            },
            classify: { error in
                guard let error = error as? M2M100Error else { return (false, false) }
                if case .unsupportedConfig = error { return (true, true) }
                return (false, true)
            })
        print("M2M100 config corpus: " + replay.summary)
        XCTAssertTrue(replay.disagreements.isEmpty, replay.disagreements.joined(separator: "\n"))
        XCTAssertGreaterThan(replay.cases, 100)
    }
}
