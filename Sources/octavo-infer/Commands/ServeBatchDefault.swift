import Foundation
import Generation
import InferenceServer
import Kernels
import ModelFactory
import Tensor

/// serve's `--max-batch` when the option is not given: `ServingBatchSize` for the weights'
/// precision, the compute threads, and the largest generation model's caches.
enum ServeBatchDefault {
    /// nil when no model is a generation model (translation keeps its own default).
    static func maxBatch(
        models: [ServeCommand.ModelSpec], precision: WeightPrecision,
        cachePrecision: KVCachePrecision
    ) -> Int? {
        let cacheBytes = models.compactMap { model -> Int? in
            guard let architecture = try? ModelFolder.architecture(of: model.directory),
                architecture.capability == .causalGeneration,
                let summary = try? architecture.readConfig(directory: model.directory)
            else { return nil }
            return cachePrecision == .f16 ? summary.kvCacheBytesPerSequence / 2 : summary.kvCacheBytesPerSequence
        }
        guard let largest = cacheBytes.max() else { return nil }
        let bytesPerWeight =
            switch precision {
            case .q4: 0.5
            case .int8: 1.0
            case .f16: 2.0
            case .f32: 4.0
            }
        return ServingBatchSize.defaultMaxBatch(
            bytesPerWeight: bytesPerWeight, cores: ComputePool.shared.threadCount,
            cacheBytesPerSequence: largest,
            memoryBytes: ProcessInfo.processInfo.physicalMemory)
    }
}
