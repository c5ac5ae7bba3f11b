import Foundation
import Generation
import Tensor
import XCTest

@testable import NLLB

/// NLLB from sharded PyTorch `.bin` files and their index (Tests/Fixtures/Torch/nllb-f16-sharded,
/// written by torch.save, the three embedding names sharing one storage as on the hub) gives
/// exactly the greedy and beam ids of the same weights in safetensors.
final class M2M100TorchCheckpointTests: XCTestCase {
    func testShardedBinGivesTheSameIdsAsSafeTensors() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("nllb-bin-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let base = NLLBFixtures.model("tiny-f16-untied")
        for name in try FileManager.default.contentsOfDirectory(atPath: base.path) where !name.hasSuffix(".safetensors")
        {
            try FileManager.default.copyItem(
                at: base.appendingPathComponent(name), to: folder.appendingPathComponent(name))
        }
        // The tokenizer files of the tied fixture (the untied one shares its vocabulary).
        for name in ["sentencepiece.bpe.model", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"]
        where !FileManager.default.fileExists(atPath: folder.appendingPathComponent(name).path) {
            try FileManager.default.copyItem(
                at: NLLBFixtures.model("tiny").appendingPathComponent(name), to: folder.appendingPathComponent(name))
        }
        let weights = NLLBFixtures.root.deletingLastPathComponent().appendingPathComponent("Torch/nllb-f16-sharded")
        for name in try FileManager.default.contentsOfDirectory(atPath: weights.path) {
            try FileManager.default.copyItem(
                at: weights.appendingPathComponent(name), to: folder.appendingPathComponent(name))
        }
        XCTAssertEqual(Checkpoint.format(of: folder), .pytorch)
        let checkpoint = try Checkpoint(directory: folder)
        XCTAssertEqual(checkpoint.files.count, 2)
        let shared = try checkpoint.require("model.shared.weight")
        let encoder = try checkpoint.require("model.encoder.embed_tokens.weight")
        XCTAssertEqual(
            shared.bytes.baseAddress, encoder.bytes.baseAddress,
            "tied embeddings are one storage, read "
                + "once")

        let fromBin = try M2M100Translator(directory: folder)
        let fromSafeTensors = try M2M100Translator(directory: base)
        let reference = try NLLBFixtures.reference("tiny-f16-untied")
        for c in reference.cases {
            for (i, source) in reference.sources.enumerated() {
                let target = reference.target_languages[i]
                let parameters = NLLBFixtures.parameters(c.parameters, translator: fromBin, targetLanguage: target)
                let ids = try fromBin.translate([source], targetLanguageID: target, parameters: parameters)
                    .translations[0].outputIDs
                let expected = try fromSafeTensors.translate([source], targetLanguageID: target, parameters: parameters)
                    .translations[0].outputIDs
                XCTAssertEqual(ids, expected, "\(c.name) source \(i)")
                XCTAssertEqual(ids, c.outputs[i], "\(c.name) source \(i)")
            }
        }
    }
}
