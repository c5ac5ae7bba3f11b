import Foundation
import Generation
import Tensor
import XCTest

@testable import NLLB

/// Checkpoint naming variants load to the same model; missing, misshapen or
/// truncated weights are typed errors naming the tensor or file.
final class M2M100WeightsTests: XCTestCase {
    var folder: URL!

    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("m2m100-weights-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: folder)
    }

    /// A copy of a fixture folder whose weights are `rename` applied to every
    /// tensor name (nil drops the tensor), plus `extra` tensors.
    func rewrite(_ name: String, rename: (String) -> String? = { $0 }, extra: [String: [String]] = [:]) throws {
        let source = NLLBFixtures.model(name)
        for file in ["config.json", "generation_config.json"] {
            try FileManager.default.copyItem(
                at: source.appendingPathComponent(file), to: folder.appendingPathComponent(file))
        }
        let weights = try SafeTensorsFile(path: source.appendingPathComponent("model.safetensors").path)
        var entries: [SafeTensorsWriter.Entry] = []
        for (tensor, info) in weights.tensors.sorted(by: { $0.key < $1.key }) {
            let view = try XCTUnwrap(weights.view(tensor))
            let data = Data(view.bytes)
            if let renamed = rename(tensor) {
                entries.append(.init(name: renamed, dtype: info.dtype, shape: info.shape, data: data))
            }
            for copy in extra[tensor] ?? [] {
                entries.append(.init(name: copy, dtype: info.dtype, shape: info.shape, data: data))
            }
        }
        try SafeTensorsWriter.write(entries, to: folder.appendingPathComponent("model.safetensors"))
    }

    func firstStepLogits(_ directory: URL, source: [Int]) throws -> [Float] {
        let model = try M2M100Model(directory: directory)
        let encoded = try model.encode([source])
        var logits = [Float](repeating: 0, count: model.vocabularySize)
        try logits.withUnsafeMutableBufferPointer {
            try model.decode(
                [Seq2SeqStep(target: model.makeTargetCache(capacity: 1), source: encoded[0], token: 2)],
                logits: $0.baseAddress!)
        }
        return logits
    }

    /// Older checkpoints store the tied embedding as the encoder's and decoder's
    /// embed_tokens (and lm_head) instead of model.shared.
    func testEmbeddingUnderAnyOfItsTiedNames() throws {
        let source = try NLLBFixtures.reference("tiny").sources[1]
        let expected = try firstStepLogits(NLLBFixtures.model("tiny"), source: source)
        for names in [
            ["model.encoder.embed_tokens.weight", "model.decoder.embed_tokens.weight", "lm_head.weight"],
            ["model.decoder.embed_tokens.weight"], ["lm_head.weight"],
        ] {
            try? FileManager.default.removeItem(at: folder)
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            try rewrite(
                "tiny", rename: { $0 == "model.shared.weight" ? names[0] : $0 },
                extra: ["model.shared.weight": Array(names.dropFirst())])
            XCTAssertEqual(try firstStepLogits(folder, source: source), expected, "\(names)")
        }
    }

    /// An `M2M100Model` (no LM head class) saves its weights without the `model.` prefix.
    func testUnprefixedNamesLoad() throws {
        let source = try NLLBFixtures.reference("tiny").sources[2]
        let expected = try firstStepLogits(NLLBFixtures.model("tiny"), source: source)
        try rewrite("tiny", rename: { $0.hasPrefix("model.") ? String($0.dropFirst(6)) : $0 })
        XCTAssertEqual(try firstStepLogits(folder, source: source), expected)
    }

    func testAMissingLayerWeightIsNamed() throws {
        try rewrite("tiny", rename: { $0 == "model.decoder.layers.1.encoder_attn.k_proj.bias" ? nil : $0 })
        XCTAssertThrowsError(try M2M100Model(directory: folder)) { error in
            guard case .missingTensor(let name, _) = error as? TensorError else { return XCTFail("\(error)") }
            XCTAssertEqual(name, "model.decoder.layers.1.encoder_attn.k_proj.bias")
        }
    }

    func testAnUntiedModelNeedsItsLMHead() throws {
        try rewrite("tiny-f16-untied", rename: { $0 == "lm_head.weight" ? nil : $0 })
        XCTAssertThrowsError(try M2M100Model(directory: folder)) { error in
            guard case .missingTensor(let name, _) = error as? TensorError else { return XCTFail("\(error)") }
            XCTAssertEqual(name, "lm_head.weight")
        }
    }

    func testAMissingEmbeddingIsNamed() throws {
        try rewrite("tiny", rename: { $0 == "model.shared.weight" ? nil : $0 })
        XCTAssertThrowsError(try M2M100Model(directory: folder)) { error in
            guard case .missingTensor(let name, _) = error as? TensorError else { return XCTFail("\(error)") }
            XCTAssertEqual(name, "model.shared.weight")
        }
    }

    /// A config that does not match the weights (here a larger vocabulary) fails on the first tensor it shapes.
    func testWeightsThatDoNotMatchTheConfig() throws {
        try rewrite("tiny")
        let url = folder.appendingPathComponent("config.json")
        var config = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any])
        let vocabulary = try XCTUnwrap(config["vocab_size"] as? Int)
        config["vocab_size"] = vocabulary + 95
        try JSONSerialization.data(withJSONObject: config).write(to: url)
        XCTAssertThrowsError(try M2M100Model(directory: folder)) { error in
            guard case .unexpectedShape(let tensor, let expected, let got) = error as? TensorError else {
                return XCTFail("\(error)")
            }
            XCTAssertEqual(tensor, "model.shared.weight")
            XCTAssertEqual(expected, [vocabulary + 95, 32])
            XCTAssertEqual(got, [vocabulary, 32])
        }
    }

    func testATruncatedFileIsAnError() throws {
        try rewrite("tiny")
        let url = folder.appendingPathComponent("model.safetensors")
        let data = try Data(contentsOf: url)
        try data.prefix(data.count - 1000).write(to: url)
        XCTAssertThrowsError(try M2M100Model(directory: folder)) { error in
            XCTAssertTrue(error is TensorError, "\(error)")
            XCTAssertTrue("\(error)".contains("model.safetensors"), "\(error)")
            XCTAssertTrue("\(error)".contains("truncated"), "\(error)")
        }
    }

    func testNoWeightsFile() throws {
        try FileManager.default.copyItem(
            at: NLLBFixtures.model("tiny").appendingPathComponent("config.json"),
            to: folder.appendingPathComponent("config.json"))
        XCTAssertThrowsError(try M2M100Model(directory: folder)) { error in
            guard case .fileNotFound = error as? TensorError else { return XCTFail("\(error)") }
        }
    }

    /// Stored once or under four tied names, the embedding counts once.
    func testParameterCountCountsTheSharedEmbeddingOnce() throws {
        let tiny = try M2M100Model(directory: NLLBFixtures.model("tiny"))
        let c = tiny.config
        let attention = 4 * (c.dModel * c.dModel + c.dModel)
        let encoderLayer = attention + 2 * c.encoderFFNDim * c.dModel + c.encoderFFNDim + c.dModel + 4 * c.dModel
        let decoderLayer = 2 * attention + 2 * c.decoderFFNDim * c.dModel + c.decoderFFNDim + c.dModel + 6 * c.dModel
        let expected =
            c.vocabSize * c.dModel + c.encoderLayers * encoderLayer + c.decoderLayers * decoderLayer + 4 * c.dModel
        XCTAssertEqual(tiny.parameterCount, expected)
        try rewrite(
            "tiny",
            extra: [
                "model.shared.weight": [
                    "model.encoder.embed_tokens.weight", "model.decoder.embed_tokens.weight", "lm_head.weight",
                ]
            ])
        XCTAssertEqual(try M2M100Model(directory: folder).parameterCount, expected)
    }
}
