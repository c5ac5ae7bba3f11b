import Foundation
import Kernels
import XCTest

@testable import Tensor

/// `OutputLayer`, the one output layer both models build: a tied head reads the embedding's own
/// floats at f32 and converts them otherwise, an untied head is `lm_head`, a stored int8 head is
/// used as stored even when tied, and a restricted call scores only the asked outputs.
final class OutputLayerTests: XCTestCase {
    let vocab = 37, width = 16
    var folder: URL!

    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("output-layer-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: folder) }

    func values(_ count: Int, seed: Float) -> [Float] { (0..<count).map { sin(Float($0) * 0.37 + seed) } }

    /// A checkpoint with `embed.weight` and, when asked, a different `lm_head.weight`.
    func checkpoint(withHead: Bool, metadata: [String: String] = [:], head: [SafeTensorsWriter.Entry]? = nil) throws
        -> Checkpoint
    {
        var entries: [SafeTensorsWriter.Entry] = []
        let table = values(vocab * width, seed: 0)
        let other = values(vocab * width, seed: 1)
        table.withUnsafeBufferPointer {
            entries.append(.init(name: "embed.weight", shape: [vocab, width], floats: $0))
        }
        if withHead {
            other.withUnsafeBufferPointer {
                entries.append(.init(name: "lm_head.weight", shape: [vocab, width], floats: $0))
            }
        }
        entries += head ?? []
        let url = folder.appendingPathComponent("\(UUID().uuidString).safetensors")
        try SafeTensorsWriter.write(entries, metadata: metadata, to: url)
        return Checkpoint(files: [try SafeTensorsFile(path: url.path)])
    }

    func logits(_ layer: OutputLayer) -> [Float] {
        var out = [Float](repeating: .nan, count: vocab)
        layer(out: &out, input: values(width, seed: 2), rows: 1)
        return out
    }

    func reference(seed: Float) -> [Float] {
        let w = values(vocab * width, seed: seed)
        let x = values(width, seed: 2)
        return (0..<vocab).map { o in (0..<width).reduce(Float(0)) { $0 + w[o * width + $1] * x[$1] } }
    }

    func assertClose(_ a: [Float], _ b: [Float], tolerance: Float, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(a.count, b.count, file: file, line: line)
        let diff = zip(a, b).map { abs($0 - $1) }.max() ?? .infinity
        XCTAssertLessThanOrEqual(diff, tolerance, "max diff \(diff)", file: file, line: line)
    }

    func testTiedHeadReadsTheEmbeddingItself() throws {
        let checkpoint = try checkpoint(withHead: false)
        let embedding = EmbeddingTensors(names: ["embed.weight"], count: vocab, dimension: width)
        let tensors = OutputLayerTensors(embedding: embedding, isTied: true)
        let loaded = try Embedding(checkpoint, embedding)
        let f32 = try OutputLayer(checkpoint, tensors, embedding: loaded, precision: .f32)
        XCTAssertTrue(f32.borrowsEmbedding)
        XCTAssertEqual(f32.ownWeightBytes, 0)
        assertClose(logits(f32), reference(seed: 0), tolerance: 1e-5)
        let int8 = try OutputLayer(checkpoint, tensors, embedding: loaded, precision: .int8)
        XCTAssertFalse(int8.borrowsEmbedding)
        XCTAssertEqual(int8.ownWeightBytes, int8.linear.weightBytes)
        assertClose(logits(int8), reference(seed: 0), tolerance: 0.05)
    }

    func testUntiedHeadReadsLMHead() throws {
        let checkpoint = try checkpoint(withHead: true)
        let embedding = EmbeddingTensors(names: ["embed.weight"], count: vocab, dimension: width)
        let layer = try OutputLayer(
            checkpoint, OutputLayerTensors(embedding: embedding, isTied: false),
            embedding: try Embedding(checkpoint, embedding), precision: .f32)
        XCTAssertFalse(layer.borrowsEmbedding)
        assertClose(logits(layer), reference(seed: 1), tolerance: 1e-5)
    }

    /// What `quantize` writes for a tied model: an explicit int8 `lm_head.weight`, used as stored.
    func testAStoredInt8HeadIsUsedEvenWhenTied() throws {
        let source = values(vocab * width, seed: 1)
        let q = Int8Matrix(quantizing: source, inFeatures: width, outFeatures: vocab, layout: .outputMajor)
        let head: [SafeTensorsWriter.Entry] = [
            .init(
                name: "lm_head.weight", dtype: .i8, shape: [vocab, width],
                data: Data(bytes: q.values, count: vocab * width)),
            .init(
                name: "lm_head.weight" + QuantizedTensors.scaleSuffix, dtype: .f32, shape: [vocab],
                data: Data(bytes: q.scales, count: vocab * 4)),
        ]
        let checkpoint = try checkpoint(withHead: false, head: head)
        let embedding = EmbeddingTensors(names: ["embed.weight"], count: vocab, dimension: width)
        let layer = try OutputLayer(
            checkpoint, OutputLayerTensors(embedding: embedding, isTied: true),
            embedding: try Embedding(checkpoint, embedding), precision: .f32)
        XCTAssertFalse(layer.borrowsEmbedding)
        guard case .int8 = layer.linear.weights else { return XCTFail("the stored int8 head was not used") }
        assertClose(logits(layer), reference(seed: 1), tolerance: 0.05)
    }

    func testRestrictedCallsScoreOnlyTheAskedOutputs() throws {
        let checkpoint = try checkpoint(withHead: false)
        let embedding = EmbeddingTensors(names: ["embed.weight"], count: vocab, dimension: width)
        let layer = try OutputLayer(
            checkpoint, OutputLayerTensors(embedding: embedding, isTied: true),
            embedding: try Embedding(checkpoint, embedding), precision: .f32)
        let full = logits(layer)
        let input = values(width, seed: 2)
        for outputs in [[0, 5, 36], [0, 5, 36], [3, 4]] {
            var out = [Float](repeating: .nan, count: vocab)
            try layer(out: &out, input: input, rows: 1, restrictedTo: outputs)
            for o in 0..<vocab {
                if outputs.contains(o) {
                    XCTAssertEqual(out[o], full[o], accuracy: 1e-5)
                } else {
                    XCTAssertEqual(out[o], -.infinity)
                }
            }
        }
        var out = [Float](repeating: 0, count: vocab)
        XCTAssertThrowsError(try layer(out: &out, input: input, rows: 1, restrictedTo: [5, 3]))
        XCTAssertThrowsError(try layer(out: &out, input: input, rows: 1, restrictedTo: [vocab]))
    }
}
