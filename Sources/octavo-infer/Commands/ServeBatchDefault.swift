import Foundation
import GPT2
import Generation
import InferenceServer
import Kernels
import Tensor

/// serve's `--max-batch` when the option is not given: `ServingBatchSize` for the weights'
/// precision, the compute threads, and the largest generation model's caches.
enum ServeBatchDefault {
    /// nil when no model is a generation model (translation keeps its own default).
    static func maxBatch(
        models: [ServeCommand.ModelSpec], precision: WeightPrecision,
        cachePrecision: KVCachePrecision
    ) -> Int? {
        let cacheBytes = models.compactMap { try? GPT2Config.load(directory: $0.directory) }.map {
            2 * $0.nLayer * $0.nEmbd * $0.nPositions * (cachePrecision == .f16 ? 2 : 4)
        }
        guard let largest = cacheBytes.max() else { return nil }
        let bytesPerWeight =
            switch precision {
            case .int8: 1
            case .f16: 2
            case .f32: 4
            }
        return ServingBatchSize.defaultMaxBatch(
            bytesPerWeight: bytesPerWeight, cores: ComputePool.shared.threadCount,
            cacheBytesPerSequence: largest,
            memoryBytes: ProcessInfo.processInfo.physicalMemory)
    }
}
