import Foundation
import XCTest

/// `bench` reports what it promises (values are not asserted: speed is measured, not tested),
/// and `quantize` writes a folder that loads as it was quantized.
final class BenchAndQuantizeCommandTests: XCTestCase {
    let gpt2 = CLI.fixtures.appendingPathComponent("GPT2/tiny").path
    let nllb = CLI.fixtures.appendingPathComponent("NLLB/tiny").path

    func testGPT2BenchReportsEveryFigure() throws {
        for dtype in ["f32", "int8"] {
            let result = try CLI.run([
                "bench", "--model", gpt2, "--prompt-tokens", "8", "--new-tokens", "6", "--runs", "2", "--batch", "2",
                "--dtype", dtype, "--json",
            ])
            XCTAssertEqual(result.status, 0, result.stderr)
            let json = try result.json()
            for key in ["load_ms", "prefill_ms", "time_to_first_token_ms", "decode_tokens_per_s", "peak_rss_mib"] {
                XCTAssertNotNil(json[key], key)
            }
            XCTAssertEqual(json["dtype"] as? String, dtype)
            XCTAssertEqual(json["int8_kernel"] == nil, dtype == "f32", "the int8 kernel is named for int8 only")
            let quality = json["quality"] as? [String: Double]
            XCTAssertEqual(quality == nil, dtype == "f32", "the quality cost is reported for quantized matrices only")
            if let quality { XCTAssertGreaterThan(quality["top1_agreement"] ?? 0, 0.5) }
            XCTAssertEqual((json["decode_tokens_per_s"] as? [String: Double])?.keys.sorted(), ["max", "median", "min"])
        }
        XCTAssertEqual(
            try CLI.run(["bench", "--model", gpt2, "--prompt-tokens", "60", "--new-tokens", "10"]).status, 2,
            "past the 64 positions")
    }

    /// `--kv-cache f16` reaches the model (the bench names it and measures its cost against
    /// fp32), generate and translate accept it, and anything else is a usage error.
    func testHalfKVCacheOption() throws {
        let bench = try CLI.run([
            "bench", "--model", gpt2, "--prompt-tokens", "8", "--new-tokens", "6", "--runs", "1", "--kv-cache", "f16",
            "--json",
        ])
        XCTAssertEqual(bench.status, 0, bench.stderr)
        let json = try bench.json()
        XCTAssertEqual(json["kv_cache"] as? String, "f16")
        XCTAssertEqual(json["dtype"] as? String, "f32")
        let quality = try XCTUnwrap(json["quality"] as? [String: Double], "an f16 cache reports its cost against fp32")
        XCTAssertGreaterThan(quality["mean_abs_logit_error"] ?? 0, 0)
        let nllbBench = try CLI.run([
            "bench", "--model", nllb, "--prompt-tokens", "6", "--new-tokens", "4", "--runs", "1", "--kv-cache", "f16",
            "--json",
        ])
        XCTAssertEqual(nllbBench.status, 0, nllbBench.stderr)
        XCTAssertEqual(try nllbBench.json()["kv_cache"] as? String, "f16")

        let generate = try CLI.run([
            "generate", "--model", gpt2, "--kv-cache", "f16", "--prompt", "The sea remembers", "--greedy",
            "--max-new-tokens", "5", "--json",
        ])
        XCTAssertEqual(generate.status, 0, generate.stderr)
        XCTAssertEqual((try generate.json()["generated_ids"] as? [Int])?.count, 5)
        let translate = try CLI.run([
            "translate", "--model", nllb, "--kv-cache", "f16", "--target", "fra_Latn", "--text", "Hello there",
        ])
        XCTAssertEqual(translate.status, 0, translate.stderr)

        let wrong = try CLI.run(["generate", "--model", gpt2, "--kv-cache", "q4", "--prompt", "x"])
        XCTAssertEqual(wrong.status, 2)
        XCTAssertTrue(wrong.stderr.contains("--kv-cache expects f32 or f16"), wrong.stderr)
    }

    /// Every int8 kernel computes the same integer sums, so forcing the AVX2 kernel (on a
    /// VNNI machine: the other code path) changes no generated id; an unknown name falls
    /// back to the fastest kernel with a warning.
    func testInt8KernelChoiceChangesNoToken() throws {
        let args = [
            "generate", "--model", gpt2, "--dtype", "int8", "--prompt", "The sea remembers", "--greedy",
            "--max-new-tokens", "20", "--json",
        ]
        let fastest = try CLI.run(args)
        XCTAssertEqual(fastest.status, 0, fastest.stderr)
        let avx2 = try CLI.run(args, environment: ["OCTAVO_INT8_KERNEL": "avx2"])
        XCTAssertEqual(avx2.status, 0, avx2.stderr)
        XCTAssertEqual(try avx2.json()["generated_ids"] as? [Int], try fastest.json()["generated_ids"] as? [Int])
        let bench = try CLI.run(
            [
                "bench", "--model", gpt2, "--prompt-tokens", "8", "--new-tokens", "4", "--runs", "1", "--dtype", "int8",
                "--json",
            ],
            environment: ["OCTAVO_INT8_KERNEL": "avx2"])
        XCTAssertEqual(try bench.json()["int8_kernel"] as? String, "avx2")
        let unknown = try CLI.run(args, environment: ["OCTAVO_INT8_KERNEL": "sse9"])
        XCTAssertEqual(unknown.status, 0, unknown.stderr)
        XCTAssertTrue(unknown.stderr.contains("OCTAVO_INT8_KERNEL=sse9"), unknown.stderr)
        XCTAssertEqual(try unknown.json()["generated_ids"] as? [Int], try fastest.json()["generated_ids"] as? [Int])
    }

    func testTranslationBench() throws {
        let result = try CLI.run([
            "bench", "--model", nllb, "--prompt-tokens", "12", "--new-tokens", "5", "--batch", "2", "--beams", "2",
            "--runs", "1", "--json",
        ])
        XCTAssertEqual(result.status, 0, result.stderr)
        let json = try result.json()
        XCTAssertNotNil(json["target_tokens_per_s"])
        XCTAssertEqual(json["beams"] as? Int, 2)
    }

    func testTokenizerBench() throws {
        let result = try CLI.run([
            "bench", "--model", CLI.fixtures.appendingPathComponent("Tokenizer/gpt2").path, "--tokenizer", "--json",
        ])
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertGreaterThan(try result.json()["ids"] as? Int ?? 0, 100_000)
    }

    func testQuantizedFolderGeneratesLikeQuantizingAtLoad() throws {
        let output = FileManager.default.temporaryDirectory.appendingPathComponent("quantized-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: output) }
        let quantize = try CLI.run(["quantize", "--model", gpt2, "--output", output.path, "--dtype", "int8"])
        XCTAssertEqual(quantize.status, 0, quantize.stderr)
        let args = ["--prompt", "The sea remembers", "--greedy", "--max-new-tokens", "20", "--json"]
        let fromFile = try CLI.run(["generate", "--model", output.path] + args).json()
        let atLoad = try CLI.run(["generate", "--model", gpt2, "--dtype", "int8"] + args).json()
        XCTAssertEqual(fromFile["generated_ids"] as? [Int], atLoad["generated_ids"] as? [Int])
        let inspect = try CLI.run(["inspect", "--model", output.path, "--json"]).json()
        XCTAssertEqual((inspect["dtypes"] as? [String: Int])?["I8"], 9, "8 block matrices and the output layer")
        XCTAssertEqual(try CLI.run(["quantize", "--model", gpt2, "--output", gpt2]).status, 2)

        // bench names the precision the folder is stored in, and measures no quality cost
        // against itself (the saved folder holds no fp32 copy).
        for dtype in ["f32", "int8"] {
            let bench = try CLI.run([
                "bench", "--model", output.path, "--prompt-tokens", "8", "--new-tokens", "4", "--runs", "1", "--dtype",
                dtype, "--json",
            ])
            XCTAssertEqual(bench.status, 0, bench.stderr)
            let json = try bench.json()
            XCTAssertEqual(json["dtype"] as? String, "int8", "--dtype \(dtype) on a saved int8 folder")
            XCTAssertNil(json["quality"])
        }
    }
}

extension BenchAndQuantizeCommandTests {
    func testQuantizedNLLBTranslatesLikeQuantizingAtLoad() throws {
        let output = FileManager.default.temporaryDirectory.appendingPathComponent(
            "quantized-nllb-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: output) }
        for dtype in ["int8", "f16"] {
            try? FileManager.default.removeItem(at: output)
            XCTAssertEqual(
                try CLI.run(["quantize", "--model", nllb, "--output", output.path, "--dtype", dtype]).status, 0)
            let args = [
                "--target", "fra_Latn", "--text", "Once upon a time, a girl named Mira lived by the sea.", "--json",
            ]
            let fromFile = try CLI.run(["translate", "--model", output.path] + args)
            XCTAssertEqual(fromFile.status, 0, fromFile.stderr)
            let atLoad = try CLI.run(["translate", "--model", nllb, "--dtype", dtype] + args).json()
            XCTAssertEqual(try fromFile.json()["output_ids"] as? [Int], atLoad["output_ids"] as? [Int], dtype)
        }
    }
}
