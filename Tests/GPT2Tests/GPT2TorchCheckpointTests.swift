import Foundation
import Generation
import Tensor
import XCTest

@testable import GPT2

/// GPT-2 from PyTorch `.bin` folders (Tests/Fixtures/Torch, written by torch.save) gives the
/// same ids and logits as the same weights in safetensors.
final class GPT2TorchCheckpointTests: XCTestCase {
    static let torchFixtures = Fixtures.root.appendingPathComponent("Torch")

    /// A temporary model folder: `base`'s config and tokenizer files with the `.bin` weights of `weights`.
    static func folder(base: String, weights: String) throws -> URL {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("gpt2-bin-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        for name in try FileManager.default.contentsOfDirectory(atPath: Fixtures.model(base).path)
        where !name.hasSuffix(".safetensors") {
            try FileManager.default.copyItem(
                at: Fixtures.model(base).appendingPathComponent(name), to: folder.appendingPathComponent(name))
        }
        let source = torchFixtures.appendingPathComponent(weights)
        for name in try FileManager.default.contentsOfDirectory(atPath: source.path) {
            try FileManager.default.copyItem(
                at: source.appendingPathComponent(name), to: folder.appendingPathComponent(name))
        }
        return folder
    }

    private func assertSameIdsAndLogits(base: String, weights: String) throws {
        let folder = try Self.folder(base: base, weights: weights)
        defer { try? FileManager.default.removeItem(at: folder) }
        XCTAssertEqual(Checkpoint.format(of: folder), .pytorch)
        let fromBin = try GPT2Model(directory: folder)
        let fromSafeTensors = try GPT2Model(directory: Fixtures.model(base))
        let reference = try Fixtures.reference(base)
        var parameters = GenerationParameters()
        parameters.maxNewTokens = reference.greedy_max_new_tokens
        parameters.doSample = false
        for prompt in reference.prompts {
            let ids = try TextGenerator(model: fromBin, tokenizer: NumberTokenizer(vocabularySize: 513))
                .generate(promptIDs: prompt.ids, parameters: parameters).generatedIDs
            let expected = try TextGenerator(model: fromSafeTensors, tokenizer: NumberTokenizer(vocabularySize: 513))
                .generate(promptIDs: prompt.ids, parameters: parameters).generatedIDs
            XCTAssertEqual(ids, expected, "\(weights): \(prompt.text)")
            XCTAssertEqual(ids, prompt.greedy, "\(weights): \(prompt.text)")
        }
        // Every weight is bit-identical, the transposed one included.
        for name in fromSafeTensors.checkpoint.tensorNames {
            let stored = try fromSafeTensors.checkpoint.require(name).floats().toArray()
            let bare = name.hasPrefix("transformer.") ? String(name.dropFirst("transformer.".count)) : name
            let read = try fromBin.checkpoint.require(name, bare).floats().toArray()
            XCTAssertEqual(read, stored, name)
        }
    }

    /// Zip format, `transformer.` keys, lm_head tied to wte, c_fc of layer 0 stored transposed.
    func testZipFormatWithPrefixedKeys() throws {
        try assertSameIdsAndLogits(base: "tiny-f16", weights: "gpt2-f16-zip")
    }

    /// Legacy format (torch < 1.6), the original un-prefixed keys, BF16.
    func testLegacyFormatWithOriginalKeys() throws {
        try assertSameIdsAndLogits(base: "tiny-bf16", weights: "gpt2-bf16-legacy")
    }

    func testTiedHeadIsReadOnceAndContiguousWeightsAreBorrowed() throws {
        let folder = try Self.folder(base: "tiny-f16", weights: "gpt2-f16-zip")
        defer { try? FileManager.default.removeItem(at: folder) }
        let checkpoint = try Checkpoint(directory: folder)
        let wte = try checkpoint.require("transformer.wte.weight")
        let head = try checkpoint.require("lm_head.weight")
        XCTAssertEqual(wte.bytes.baseAddress, head.bytes.baseAddress, "tied weights share one storage")
        XCTAssertTrue(wte.owner is MappedFile, "a contiguous tensor is borrowed from the mapping")
        XCTAssertFalse(
            try checkpoint.require("transformer.h.0.mlp.c_fc.weight").owner is MappedFile, "a transposed one is copied")
    }

    func testSafeTensorsArePreferredWhenBothExist() throws {
        let folder = try Self.folder(base: "tiny-f16", weights: "gpt2-bf16-legacy")
        defer { try? FileManager.default.removeItem(at: folder) }
        try FileManager.default.copyItem(
            at: Fixtures.model("tiny-f16").appendingPathComponent("model.safetensors"),
            to: folder.appendingPathComponent("model.safetensors"))
        XCTAssertEqual(Checkpoint.format(of: folder), .safetensors)
        let checkpoint = try Checkpoint(directory: folder)
        XCTAssertTrue(checkpoint.files.allSatisfy { $0 is SafeTensorsFile })
        XCTAssertEqual(checkpoint.info("transformer.wte.weight")?.dtype, .f16)
    }
}
