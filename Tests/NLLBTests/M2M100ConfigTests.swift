import Foundation
import XCTest

@testable import NLLB

/// config.json is checked before any weight is read, with messages that say what is wrong.
final class M2M100ConfigTests: XCTestCase {
    var folder: URL!

    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("m2m100-config-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: folder)
    }

    /// The tiny fixture's config.json as a dictionary, to edit.
    func tinyConfig() throws -> [String: Any] {
        let data = try Data(contentsOf: NLLBFixtures.model("tiny").appendingPathComponent("config.json"))
        return try XCTUnwrap(JSONSerialization.jsonObject(with: data) as? [String: Any])
    }

    func load(_ object: [String: Any]) throws -> M2M100Config {
        try JSONSerialization.data(withJSONObject: object).write(to: folder.appendingPathComponent("config.json"))
        return try M2M100Config.load(directory: folder)
    }

    func expect(
        _ object: [String: Any], file: StaticString = #filePath, line: UInt = #line, _ check: (M2M100Error) -> Bool
    ) {
        XCTAssertThrowsError(try load(object), file: file, line: line) { error in
            guard let error = error as? M2M100Error else {
                return XCTFail("not an M2M100Error: \(error)", file: file, line: line)
            }
            XCTAssertTrue(check(error), "unexpected: \(error)", file: file, line: line)
        }
    }

    /// facebook/nllb-200-distilled-600M's config.json as the hub has it.
    func testTheRealNLLBConfigReadsAsExpected() throws {
        let real = """
            {"_name_or_path": "nllb-200-distilled-600M", "activation_dropout": 0.0, "activation_function": "relu",
             "architectures": ["M2M100ForConditionalGeneration"], "attention_dropout": 0.1, "bos_token_id": 0, "d_model": 1024,
             "decoder_attention_heads": 16, "decoder_ffn_dim": 4096, "decoder_layerdrop": 0, "decoder_layers": 12,
             "decoder_start_token_id": 2, "dropout": 0.1, "encoder_attention_heads": 16, "encoder_ffn_dim": 4096,
             "encoder_layerdrop": 0, "encoder_layers": 12, "eos_token_id": 2, "init_std": 0.02, "is_encoder_decoder": true,
             "max_length": 200, "max_position_embeddings": 1024, "model_type": "m2m_100", "num_hidden_layers": 12,
             "pad_token_id": 1, "scale_embedding": true, "tokenizer_class": "NllbTokenizer", "torch_dtype": "float32",
             "transformers_version": "4.21.0.dev0", "use_cache": true, "vocab_size": 256206}
            """
        try real.data(using: .utf8)!.write(to: folder.appendingPathComponent("config.json"))
        let config = try M2M100Config.load(directory: folder)
        XCTAssertEqual(config, .nllb200Distilled600M)
        XCTAssertEqual(config.embeddingScale, 32)
        XCTAssertEqual(config.decoderHeadDim, 64)
    }

    func testAGPT2ConfigIsRejectedByModelType() throws {
        let data = try Data(
            contentsOf: NLLBFixtures.root.deletingLastPathComponent().appendingPathComponent("GPT2/tiny/config.json"))
        try data.write(to: folder.appendingPathComponent("config.json"))
        XCTAssertThrowsError(try M2M100Config.load(directory: folder)) { error in
            guard case .unsupportedConfig(let key, let value, _) = error as? M2M100Error else {
                return XCTFail("\(error)")
            }
            XCTAssertEqual(key, "model_type")
            XCTAssertEqual(value, "\"gpt2\"")
            XCTAssertTrue("\(error)".contains("m2m_100"))
        }
    }

    func testMissingShapeKeysAreErrorsNotDefaults() throws {
        // transformers would default them; we refuse on purpose, and say so.
        for key in [
            "d_model", "encoder_layers", "decoder_attention_heads", "decoder_ffn_dim", "vocab_size",
            "max_position_embeddings",
        ] {
            var config = try tinyConfig()
            config.removeValue(forKey: key)
            expect(config) {
                guard case .unsupportedConfig(let k, _, let reason) = $0 else { return false }
                return k == key && reason.contains("missing key \"\(key)\"") && reason.contains("deliberately")
            }
        }
        // Without model_type transformers cannot load it either.
        var config = try tinyConfig()
        config.removeValue(forKey: "model_type")
        expect(config) {
            guard case .malformedConfig(let path, let reason) = $0 else { return false }
            return path.hasSuffix("config.json") && reason.contains("model_type")
        }
    }

    func testOptionalKeysTakeTransformersDefaults() throws {
        var config = try tinyConfig()
        for key in [
            "activation_function", "scale_embedding", "pad_token_id", "bos_token_id", "eos_token_id",
            "decoder_start_token_id", "tie_word_embeddings",
        ] {
            config.removeValue(forKey: key)
        }
        let loaded = try load(config)
        XCTAssertEqual(loaded.activationFunction, "relu")
        XCTAssertTrue(loaded.scaleEmbedding)
        XCTAssertTrue(loaded.tieWordEmbeddings)
        XCTAssertEqual(
            [loaded.padTokenID, loaded.bosTokenID, loaded.eosTokenID, loaded.decoderStartTokenID], [1, 0, 2, 2])
    }

    func testBadDimensionsAreRejected() throws {
        let cases: [(String, Any, String)] = [
            ("d_model", 30, "encoder_attention_heads"),  // 30 is not divisible by 4 heads
            ("decoder_attention_heads", 5, "decoder_attention_heads"),
            ("encoder_layers", 0, "encoder_layers"),
            ("vocab_size", -1, "vocab_size"),
            ("activation_function", "swiglu", "activation_function"),
            ("pad_token_id", 5000, "pad_token_id"),
        ]
        for (key, value, reported) in cases {
            var config = try tinyConfig()
            config[key] = value
            expect(config) {
                guard case .unsupportedConfig(let k, _, _) = $0 else { return false }
                return k == reported
            }
        }
        var config = try tinyConfig()
        config["d_model"] = "wide"
        expect(config) {
            guard case .malformedConfig(_, let reason) = $0 else { return false }
            return reason.contains("d_model")
        }
    }

    func testAMissingConfigSaysWhatAFolderNeeds() {
        XCTAssertThrowsError(try M2M100Model(directory: folder)) { error in
            XCTAssertEqual(
                error as? M2M100Error, .configNotFound(path: folder.appendingPathComponent("config.json").path))
            XCTAssertTrue("\(error)".contains("model.safetensors"))
        }
    }
}
