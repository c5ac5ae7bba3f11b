import Foundation
import XCTest

/// `.bin` folders through the CLI: the stderr notice, `convert`'s round trip (same ids from the
/// written safetensors), and a hostile checkpoint refused by name.
final class ConvertCommandTests: XCTestCase {
    private var folders: [URL] = []

    override func tearDown() {
        for folder in folders { try? FileManager.default.removeItem(at: folder) }
    }

    private func temporaryFolder() -> URL {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("convert-\(UUID().uuidString)")
        folders.append(folder)
        return folder
    }

    /// `base`'s config and tokenizer files beside the `.bin` files of `Torch/<weights>`.
    private func binFolder(base: String, weights: String) throws -> URL {
        let folder = temporaryFolder()
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let baseURL = CLI.fixtures.appendingPathComponent(base)
        for name in try FileManager.default.contentsOfDirectory(atPath: baseURL.path)
        where !name.hasSuffix(".safetensors") {
            try FileManager.default.copyItem(
                at: baseURL.appendingPathComponent(name), to: folder.appendingPathComponent(name))
        }
        let source = CLI.fixtures.appendingPathComponent("Torch/\(weights)")
        for name in try FileManager.default.contentsOfDirectory(atPath: source.path) {
            try FileManager.default.copyItem(
                at: source.appendingPathComponent(name), to: folder.appendingPathComponent(name))
        }
        return folder
    }

    private func generatedIDs(_ folder: String) throws -> (ids: [Int]?, stderr: String) {
        let result = try CLI.run([
            "generate", "--model", folder, "--prompt", "Once upon a time", "--max-new-tokens", "16",
            "--temperature", "0", "--json",
        ])
        XCTAssertEqual(result.status, 0, result.stderr)
        return (try result.json()["generated_ids"] as? [Int], result.stderr)
    }

    func testGPT2BinFolderAndItsConversionGiveTheSafeTensorsIds() throws {
        let bin = try binFolder(base: "GPT2/tiny-f16", weights: "gpt2-f16-zip")
        let expected = try generatedIDs(CLI.fixtures.appendingPathComponent("GPT2/tiny-f16").path)
        let fromBin = try generatedIDs(bin.path)
        XCTAssertNotNil(fromBin.ids)
        XCTAssertEqual(fromBin.ids, expected.ids)
        XCTAssertTrue(
            fromBin.stderr.contains("pytorch_model.bin") && fromBin.stderr.contains("octavo-infer convert"),
            fromBin.stderr)
        XCTAssertFalse(expected.stderr.contains("octavo-infer convert"))

        // 100 KB shards: the 165 KB of weights need two files and an index.
        let converted = temporaryFolder()
        let result = try CLI.run([
            "convert", "--model", bin.path, "--output", converted.path, "--max-shard-size", "100KB",
        ])
        XCTAssertEqual(result.status, 0, result.stderr)
        let files = try FileManager.default.contentsOfDirectory(atPath: converted.path)
        XCTAssertTrue(files.contains("model.safetensors.index.json"), "\(files)")
        XCTAssertEqual(files.filter { $0.hasSuffix(".safetensors") }.count, 2, "\(files)")
        XCTAssertTrue(
            files.contains("tokenizer.json") && files.contains("config.json")
                && files.contains("generation_config.json"))
        let fromConverted = try generatedIDs(converted.path)
        XCTAssertEqual(fromConverted.ids, expected.ids)
        XCTAssertFalse(fromConverted.stderr.contains("octavo-infer convert"), fromConverted.stderr)
        // The .bin names 29 tensors; lm_head.weight is wte's storage, written once as save_pretrained does.
        let inspect = try CLI.run(["inspect", "--model", converted.path, "--json"]).json()
        XCTAssertEqual(inspect["tensors"] as? Int, 28)
        let index = try String(
            contentsOf: converted.appendingPathComponent("model.safetensors.index.json"), encoding: .utf8)
        XCTAssertFalse(index.contains("lm_head.weight"))
    }

    func testConvertToBF16WritesBF16() throws {
        let bin = try binFolder(base: "GPT2/tiny-bf16", weights: "gpt2-bf16-legacy")
        let converted = temporaryFolder()
        XCTAssertEqual(
            try CLI.run(["convert", "--model", bin.path, "--output", converted.path, "--dtype", "bf16"]).status, 0)
        let inspect = try CLI.run(["inspect", "--model", converted.path, "--json"]).json()
        XCTAssertEqual((inspect["dtypes"] as? [String: Int])?.keys.sorted(), ["BF16"])
        // BF16 -> BF16 is exact, so the ids are the stored model's.
        XCTAssertEqual(
            try generatedIDs(converted.path).ids,
            try generatedIDs(CLI.fixtures.appendingPathComponent("GPT2/tiny-bf16").path).ids)
    }

    func testNLLBShardedBinConvertsToTheSameTranslation() throws {
        let bin = try binFolder(base: "NLLB/tiny-f16-untied", weights: "nllb-f16-sharded")
        for name in ["sentencepiece.bpe.model", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"] {
            try FileManager.default.copyItem(
                at: CLI.fixtures.appendingPathComponent("NLLB/tiny/\(name)"), to: bin.appendingPathComponent(name))
        }
        let converted = temporaryFolder()
        XCTAssertEqual(try CLI.run(["convert", "--model", bin.path, "--output", converted.path]).status, 0)
        func translate(_ folder: String) throws -> [Int]? {
            let result = try CLI.run([
                "translate", "--model", folder, "--target", "fra_Latn", "--beams", "2", "--text", "Hello world.",
                "--json",
            ])
            XCTAssertEqual(result.status, 0, result.stderr)
            return try result.json()["output_ids"] as? [Int]
        }
        let fromBin = try translate(bin.path)
        XCTAssertNotNil(fromBin)
        XCTAssertEqual(try translate(converted.path), fromBin)
    }

    func testHostileCheckpointIsRefusedByName() throws {
        let folder = try binFolder(base: "GPT2/tiny-f16", weights: "gpt2-f16-zip")
        try FileManager.default.removeItem(at: folder.appendingPathComponent("pytorch_model.bin"))
        try FileManager.default.copyItem(
            at: CLI.fixtures.appendingPathComponent("Torch/hostile/os-system.bin"),
            to: folder.appendingPathComponent("pytorch_model.bin"))
        let result = try CLI.run(["generate", "--model", folder.path, "--prompt", "Hi", "--max-new-tokens", "2"])
        XCTAssertEqual(result.status, 1)
        XCTAssertTrue(
            result.stderr.contains("'os.system'") && result.stderr.contains("nothing was executed"), result.stderr)
    }
}
