import AllocationCounter
import Foundation
import Generation
import Kernels
import Tensor
import XCTest

@testable import NLLB

/// An NLLB decoder step allocates nothing, as a GPT-2 step does (GPT2Tests' DecodeAllocationTests
/// says why the pool has one thread here).
final class M2M100DecodeAllocationTests: XCTestCase {
    override func setUp() { ComputePool.configure(threads: 1) }
    override func tearDown() { ComputePool.configure(threads: ProcessInfo.processInfo.activeProcessorCount) }

    func testDecoderStepsAllocateNothing() throws {
        // The last one with a restricted output vocabulary (its rows are copied at the first step).
        let configurations: [(WeightPrecision, KVCachePrecision, restricted: Bool)] = [
            (.f32, .f32, false), (.int8, .f32, false), (.f32, .f16, false), (.int8, .f32, true),
        ]
        for (precision, cachePrecision, restricted) in configurations {
            let model = try M2M100Model(
                directory: NLLBFixtures.model("tiny"), precision: precision, cachePrecision: cachePrecision)
            let sources = try NLLBFixtures.reference("tiny").sources
            let v = model.vocabularySize
            let vocabulary = restricted ? OutputVocabulary(stride(from: 0, to: v, by: 3)) : nil
            for count in [1, 2] {
                let encoded = try model.encode(Array(sources.prefix(count)))
                var steps = encoded.map {
                    Seq2SeqStep(
                        target: model.makeTargetCache(capacity: 12), source: $0, token: model.config.decoderStartTokenID
                    )
                }
                let logits = UnsafeMutablePointer<Float>.allocate(capacity: count * v)
                defer { logits.deallocate() }
                var counted = 0
                for step in 0..<10 {
                    allocation_counter_start()
                    try model.decode(steps, logits: logits, vocabulary: vocabulary)
                    let made = allocation_counter_stop()
                    if step >= 2 { counted += made }  // the first steps size the buffers
                    for s in steps.indices { steps[s].token = LogitsProcessors.argmax(logits + s * v, count: v) }
                }
                XCTAssertEqual(
                    counted, 0,
                    "\(precision) matrices, \(cachePrecision) caches, restricted "
                        + "\(restricted), \(count) sentences: allocations in 8 decoder steps")
            }
        }
    }
}
