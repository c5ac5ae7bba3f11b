import XCTest

@testable import InferenceServer

/// serve's default batch follows the weights' bytes, the cores and the caches' memory.
final class ServingBatchSizeTests: XCTestCase {
    let gigabyte: UInt64 = 1 << 30
    /// GPT-2 124M's f32 caches at its 1024 positions: 2 · 12 layers · 768 · 1024 · 4 bytes.
    let gpt2Cache = 2 * 12 * 768 * 1024 * 4

    func testTheKneeGrowsWithCoresAndBytesPerWeight() {
        let int8TwoCores = ServingBatchSize.defaultMaxBatch(
            bytesPerWeight: 1, cores: 2, cacheBytesPerSequence: gpt2Cache,
            memoryBytes: 64 * gigabyte)
        XCTAssertEqual(int8TwoCores, 2 * ServingBatchSize.sequencesPerCorePerWeightByte)
        XCTAssertEqual(
            ServingBatchSize.defaultMaxBatch(
                bytesPerWeight: 1, cores: 4, cacheBytesPerSequence: gpt2Cache,
                memoryBytes: 64 * gigabyte), 2 * int8TwoCores)
        XCTAssertEqual(
            ServingBatchSize.defaultMaxBatch(
                bytesPerWeight: 4, cores: 2, cacheBytesPerSequence: gpt2Cache,
                memoryBytes: 64 * gigabyte), 4 * int8TwoCores)
    }

    func testTheCachesOfAFullBatchFitInAQuarterOfMemory() {
        // 2 GiB / 4 over 75.5 MiB per sequence: 6 fit, so 4 (the power of two below).
        XCTAssertEqual(
            ServingBatchSize.defaultMaxBatch(
                bytesPerWeight: 4, cores: 64, cacheBytesPerSequence: gpt2Cache,
                memoryBytes: 2 * gigabyte), 4)
    }

    func testTheResultStaysInItsRangeAndIsAPowerOfTwo() {
        for cores in [1, 2, 3, 6, 17, 500] {
            for bytes in [1, 2, 4] {
                for memory in [gigabyte / 8, 16 * gigabyte, 4096 * gigabyte] {
                    let batch = ServingBatchSize.defaultMaxBatch(
                        bytesPerWeight: bytes, cores: cores,
                        cacheBytesPerSequence: gpt2Cache, memoryBytes: memory)
                    XCTAssertTrue(ServingBatchSize.range.contains(batch), "\(batch)")
                    XCTAssertEqual(batch & (batch - 1), 0, "\(batch) is not a power of two")
                }
            }
        }
    }
}
