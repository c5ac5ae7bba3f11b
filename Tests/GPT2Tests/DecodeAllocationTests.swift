import AllocationCounter
import Foundation
import Generation
import Kernels
import Tensor
import XCTest

@testable import GPT2

/// A decode step allocates nothing: its buffers come from the model's workspace, the
/// sequences' caches and each thread's `ThreadScratch`, all sized by the first steps.
///
/// Counted with a one-thread pool: with more threads, `ComputePool.run` hands each kernel's
/// closure to the workers through `withoutActuallyEscaping`, which wraps it in a 32-byte heap
/// box (Swift has no other way to give a non-escaping closure to another thread): about 60
/// small mallocs per GPT-2 step, against milliseconds of arithmetic.
final class DecodeAllocationTests: XCTestCase {
    override func setUp() { ComputePool.configure(threads: 1) }
    override func tearDown() { ComputePool.configure(threads: ProcessInfo.processInfo.activeProcessorCount) }

    func testTheCounterSeesSwiftAllocations() {
        var kept: [[Int]] = []
        allocation_counter_start()
        kept.append([Int](repeating: 7, count: 1000 + kept.count))
        kept.append(Array(kept[0].prefix(10)))
        let counted = allocation_counter_stop()
        XCTAssertEqual(kept.count, 2)
        XCTAssertGreaterThanOrEqual(
            counted, 2,
            "the counter must see the Swift runtime's allocations, or the test "
                + "below proves nothing")
    }

    /// Greedy steps over 1 and 3 sequences, for each kind of matrices and caches, after a
    /// prefill and one warm-up step; only the model's forward pass is counted.
    func testDecodeStepsAllocateNothing() throws {
        let configurations: [(WeightPrecision, KVCachePrecision)] = [
            (.f32, .f32), (.int8, .f32), (.f16, .f32), (.f32, .f16),
        ]
        for (precision, cachePrecision) in configurations {
            let model = try GPT2Model(
                directory: Fixtures.model("tiny"), precision: precision, cachePrecision: cachePrecision)
            let v = model.vocabularySize
            for batch in [1, 3] {
                let prompts = (0..<batch).map { b in (0..<(5 + b)).map { ($0 * 7 + b) % v } }
                let caches = prompts.map { model.makeCache(capacity: $0.count + 12) }
                var steps = zip(caches, prompts).map { SequenceStep(cache: $0, tokens: $1[...]) }
                let tokens = (0..<batch).map { _ in [0] }
                let logits = UnsafeMutablePointer<Float>.allocate(capacity: batch * v)
                defer { logits.deallocate() }
                var counted = 0
                for step in 0..<10 {
                    allocation_counter_start()
                    try model.forward(steps, logits: logits)
                    let made = allocation_counter_stop()
                    if step >= 2 { counted += made }  // the prefill and the first decode step size the buffers
                    for b in 0..<batch {
                        steps[b].tokens = tokens[b][...]
                        _ = LogitsProcessors.argmax(logits + b * v, count: v)
                    }
                }
                XCTAssertEqual(
                    counted, 0,
                    "\(precision) matrices, \(cachePrecision) cache, batch \(batch): "
                        + "allocations in 8 decode steps")
            }
        }
    }
}
