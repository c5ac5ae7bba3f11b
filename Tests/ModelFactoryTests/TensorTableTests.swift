import Foundation
import GPT2
import ModelFactory
import NLLB
import Tensor
import XCTest

/// Each model's tensor table against the committed checkpoints: its names are exactly the ones
/// the files hold (both GPT-2 key layouts, M2M100 tied and untied), with their shapes.
final class TensorTableTests: XCTestCase {
    func table(_ path: String) throws -> (any CheckpointTensorTable, Checkpoint) {
        let folder = FactoryFixtures.folder(path)
        let checkpoint = try Checkpoint(directory: folder)
        return (
            try ArchitectureRegistry.standard.architecture(of: folder).tensorTable(
                directory: folder, checkpoint: checkpoint),
            checkpoint
        )
    }

    /// The names a checkpoint must hold: each required entry's preferred name.
    func requiredNames(_ table: any CheckpointTensorTable) -> Set<String> {
        Set(table.entries.filter(\.isRequired).map(\.name))
    }

    func testGPT2TableNamesAreExactlyTheSaveFormatFiles() throws {
        for path in ["GPT2/tiny", "GPT2/tiny-f16", "GPT2/variant"] {
            let (table, checkpoint) = try table(path)
            XCTAssertEqual(requiredNames(table), Set(checkpoint.tensorNames), path)
            XCTAssertEqual(table.mismatches(with: checkpoint), [], path)
            XCTAssertEqual((table as? GPT2Tensors)?.keyPrefix, "transformer.", path)
        }
    }

    func testGPT2TableReadsTheOpenAILayoutAndKnowsItsMaskBuffers() throws {
        let (table, checkpoint) = try table("GPT2/tiny-openai-layout")
        XCTAssertEqual((table as? GPT2Tensors)?.keyPrefix, "")
        XCTAssertEqual(table.mismatches(with: checkpoint), [])
        XCTAssertEqual(
            table.bufferNames, ["h.0.attn.bias", "h.0.attn.masked_bias", "h.1.attn.bias", "h.1.attn.masked_bias"])
        XCTAssertEqual(requiredNames(table).union(table.bufferNames), Set(checkpoint.tensorNames))
        XCTAssertTrue(requiredNames(table).contains("h.0.attn.c_attn.weight"))
    }

    func testM2M100TableNamesAreExactlyTheFixturesNames() throws {
        for path in ["NLLB/tiny", "NLLB/tiny-f16-untied"] {
            let (table, checkpoint) = try table(path)
            XCTAssertEqual(requiredNames(table), Set(checkpoint.tensorNames), path)
            XCTAssertEqual(table.mismatches(with: checkpoint), [], path)
            XCTAssertEqual(table.tiedCopies(in: checkpoint), [], path)
        }
        XCTAssertTrue(try requiredNames(table("NLLB/tiny-f16-untied").0).contains("lm_head.weight"))
        XCTAssertFalse(
            try requiredNames(table("NLLB/tiny").0).contains("lm_head.weight"), "tied: lm_head is the shared embedding")
    }

    /// transformers' older saves store the shared embedding under every tied name (the weights
    /// of `tiny-f16-untied` as torch.save wrote them).
    func testM2M100TiedCopiesAreKnownAndCountedOnce() throws {
        let checkpoint = try Checkpoint(directory: FactoryFixtures.folder("Torch/nllb-f16-sharded"))
        var config = try M2M100Config.load(directory: FactoryFixtures.folder("NLLB/tiny-f16-untied"))
        let untied = M2M100Tensors(config: config, checkpoint: checkpoint)
        XCTAssertEqual(
            untied.tiedCopies(in: checkpoint),
            ["model.encoder.embed_tokens.weight", "model.decoder.embed_tokens.weight"])
        XCTAssertEqual(untied.mismatches(with: checkpoint), [])
        config.tieWordEmbeddings = true
        let tied = M2M100Tensors(config: config, checkpoint: checkpoint)
        XCTAssertEqual(
            tied.tiedCopies(in: checkpoint),
            ["model.encoder.embed_tokens.weight", "model.decoder.embed_tokens.weight", "lm_head.weight"])
        XCTAssertEqual(tied.quantizableMatrices(in: checkpoint).last?.source, "model.shared.weight")
    }

    /// The check can fail: a config of another depth lists names the file lacks, or misses names it has.
    func testATableOfAnotherConfigDoesNotMatch() throws {
        let checkpoint = try Checkpoint(directory: FactoryFixtures.folder("GPT2/tiny"))
        var config = try GPT2Config.load(directory: FactoryFixtures.folder("GPT2/tiny"))
        config.nLayer = 3
        XCTAssertTrue(
            GPT2Tensors(config: config, checkpoint: checkpoint).mismatches(with: checkpoint)
                .contains("missing 'transformer.h.2.ln_1.weight'"))
        config.nLayer = 1
        XCTAssertTrue(
            GPT2Tensors(config: config, checkpoint: checkpoint).mismatches(with: checkpoint)
                .contains("'transformer.h.1.ln_1.weight' is not in the table"))
        config.nLayer = 2
        config.nInner = 100
        XCTAssertTrue(
            GPT2Tensors(config: config, checkpoint: checkpoint).mismatches(with: checkpoint)
                .contains("'transformer.h.0.mlp.c_fc.weight' is [48, 192], the table says [48, 100]"))
    }

    /// quantize converts the table's matrices; a tied head is read from the embedding it is tied to.
    func testQuantizableMatricesComeFromTheTable() throws {
        let (tied, tiedCheckpoint) = try table("GPT2/tiny")
        let matrices = tied.quantizableMatrices(in: tiedCheckpoint)
        XCTAssertEqual(matrices.count, 2 * 4 + 1)
        XCTAssertEqual(matrices.first?.name, "transformer.h.0.attn.c_attn.weight")
        XCTAssertEqual(matrices.first?.layout, .inputMajor)
        XCTAssertEqual(matrices.last?.name, "lm_head.weight")
        XCTAssertEqual(matrices.last?.source, "transformer.wte.weight")
        let (untied, untiedCheckpoint) = try table("GPT2/variant")
        XCTAssertNil(untied.quantizableMatrices(in: untiedCheckpoint).last?.source)

        let (nllb, nllbCheckpoint) = try table("NLLB/tiny")
        let nllbMatrices = nllb.quantizableMatrices(in: nllbCheckpoint)
        XCTAssertEqual(nllbMatrices.count, 2 * (4 + 2) + 2 * (8 + 2) + 1)
        XCTAssertEqual(nllbMatrices.last?.source, "model.shared.weight")
        XCTAssertTrue(nllbMatrices.allSatisfy { $0.layout == .outputMajor })
    }
}
