import AllocationCounter
import Foundation
import Generation
import Tensor
import XCTest
@testable import NLLB

/// An NLLB decoder step allocates nothing, as a GPT-2 step does (GPT2Tests' DecodeAllocationTests
/// says why the pool has one thread here).
final class M2M100DecodeAllocationTests: XCTestCase {
    override func setUp() { ComputePool.configure(threads: 1) }
    override func tearDown() { ComputePool.configure(threads: ProcessInfo.processInfo.activeProcessorCount) }

    func testDecoderStepsAllocateNothing() throws {
        let configurations: [(WeightPrecision, KVCachePrecision)] = [(.f32, .f32), (.int8, .f32), (.f32, .f16)]
        for (precision, cachePrecision) in configurations {
            let model = try M2M100Model(directory: NLLBFixtures.model("tiny"), precision: precision, cachePrecision: cachePrecision)
            let sources = try NLLBFixtures.reference("tiny").sources
            let v = model.vocabularySize
            for count in [1, 2] {
                let encoded = try model.encode(Array(sources.prefix(count)))
                var steps = encoded.map { Seq2SeqStep(target: model.makeTargetCache(capacity: 12), source: $0, token: model.config.decoderStartTokenID) }
                let logits = UnsafeMutablePointer<Float>.allocate(capacity: count * v)
                defer { logits.deallocate() }
                var counted = 0
                for step in 0..<10 {
                    allocation_counter_start()
                    try model.decode(steps, logits: logits)
                    let made = allocation_counter_stop()
                    if step >= 2 { counted += made }  // the first steps size the buffers
                    for s in steps.indices { steps[s].token = LogitsProcessors.argmax(logits + s * v, count: v) }
                }
                XCTAssertEqual(counted, 0, "\(precision) matrices, \(cachePrecision) caches, \(count) sentences: allocations in 8 decoder steps")
            }
        }
    }
}
