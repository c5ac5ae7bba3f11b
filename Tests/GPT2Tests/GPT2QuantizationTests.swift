import Foundation
import Generation
import Tensor
import XCTest

@testable import GPT2

/// f16 and int8 matrices: close to fp32 on the fixtures, and a file written by
/// the quantizer gives exactly what quantizing at load gives.
final class GPT2QuantizationTests: XCTestCase {
    /// Every prompt position's logits under `precision`, teacher-forced with the fixture prompts.
    func logits(_ model: GPT2Model, _ prompts: [[Int]]) throws -> [[Float]] {
        var rows: [[Float]] = []
        for prompt in prompts {
            let cache = model.makeCache(capacity: prompt.count)
            for token in prompt {
                var row = [Float](repeating: 0, count: model.vocabularySize)
                try row.withUnsafeMutableBufferPointer {
                    try model.forward([SequenceStep(cache: cache, tokens: [token][...])], logits: $0.baseAddress!)
                }
                rows.append(row)
            }
        }
        return rows
    }

    func quality(_ precision: WeightPrecision, cache: KVCachePrecision = .f32) throws -> (
        agreement: Double, meanAbsoluteError: Double
    ) {
        let prompts = try Fixtures.reference("tiny").prompts.map(\.ids)
        let reference = try logits(GPT2Model(directory: Fixtures.model("tiny")), prompts)
        let quantized = try logits(
            GPT2Model(directory: Fixtures.model("tiny"), precision: precision, cachePrecision: cache), prompts)
        var agree = 0
        var error = 0.0
        var count = 0
        for (a, b) in zip(reference, quantized) {
            if LogitsProcessors.argmax(a, count: a.count) == LogitsProcessors.argmax(b, count: b.count) { agree += 1 }
            for (x, y) in zip(a, b) {
                error += Double(abs(x - y))
                count += 1
            }
        }
        return (Double(agree) / Double(reference.count), error / Double(count))
    }

    func testHalfPrecisionStaysCloseToFloat() throws {
        let q = try quality(.f16)
        print(
            "f16 vs f32 on the tiny fixture: top-1 agreement \(q.agreement), mean |logit error| "
                + "\(q.meanAbsoluteError)")
        XCTAssertEqual(q.agreement, 1.0)
        XCTAssertLessThan(q.meanAbsoluteError, 5e-3)
    }

    func testInt8StaysCloseToFloat() throws {
        let q = try quality(.int8)
        print(
            "int8 vs f32 on the tiny fixture: top-1 agreement \(q.agreement), mean |logit error| "
                + "\(q.meanAbsoluteError)")
        XCTAssertGreaterThanOrEqual(q.agreement, 0.9)
        XCTAssertLessThan(q.meanAbsoluteError, 0.15)
        XCTAssertGreaterThan(q.meanAbsoluteError, 0, "int8 cannot be exactly fp32: the path was not taken")
    }

    /// Keys and values rounded to half floats move the logits by about the rounding, no more.
    func testHalfKVCacheStaysCloseToFloat() throws {
        let q = try quality(.f32, cache: .f16)
        print(
            "f16 KV cache vs f32 on the tiny fixture: top-1 agreement \(q.agreement), mean |logit error| "
                + "\(q.meanAbsoluteError)")
        XCTAssertEqual(q.agreement, 1.0)
        XCTAssertLessThan(q.meanAbsoluteError, 3e-3)
        XCTAssertGreaterThan(q.meanAbsoluteError, 0, "an f16 cache cannot be exactly fp32: the path was not taken")
        let model = try GPT2Model(directory: Fixtures.model("tiny"), cachePrecision: .f16)
        XCTAssertEqual(model.makeCache(capacity: 8).precision, .f16)
    }

    func testQuantizedFileEqualsQuantizingAtLoad() throws {
        for precision in [WeightPrecision.int8, .f16] {
            let directory = Fixtures.model("tiny")
            let checkpoint = try Checkpoint(directory: directory)
            let config = try GPT2Config.load(directory: directory)
            let quantizer = CheckpointQuantizer(
                checkpoint: checkpoint, matrices: GPT2Model.quantizableMatrices(config: config, checkpoint: checkpoint),
                precision: precision)
            let file = FileManager.default.temporaryDirectory.appendingPathComponent(
                "quantized-\(UUID().uuidString).safetensors")
            defer { try? FileManager.default.removeItem(at: file) }
            try SafeTensorsWriter.write(quantizer.entries(), metadata: quantizer.metadata, to: file)
            let stored = try GPT2Model(
                config: config, checkpoint: Checkpoint(files: [SafeTensorsFile(path: file.path)]))
            let atLoad = try GPT2Model(directory: directory, precision: precision)
            let prompts = try Fixtures.reference("tiny").prompts.map(\.ids)
            XCTAssertEqual(try logits(stored, prompts), try logits(atLoad, prompts), "\(precision)")
            if precision == .int8 {
                XCTAssertLessThan(
                    stored.weightBytes, atLoad.checkpoint.storedBytes,
                    "the int8 file must load "
                        + "smaller than fp32")
            }
        }
    }
}
