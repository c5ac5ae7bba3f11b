import Foundation
import ModelFactory
import Tensor

/// `octavo-infer inspect`: what a model folder holds and what it will cost to run.
enum InspectCommand: Command {
    static let name = "inspect"
    static let summary = "Show a model folder's config, parameter count, dtypes and memory"
    static let help = """
        Usage: octavo-infer inspect --model DIR [--json]

        Reads config.json and the safetensors headers (no weights are loaded) of a GPT-2 or
        NLLB (M2M100) folder and prints the architecture, the parameter count, the stored dtypes, and the memory the model
        takes: weights in fp32 (F16/BF16 are widened at load, F32 is memory-mapped) and the
        KV cache per sequence at full context.

        Example:
          octavo-infer inspect --model models/gpt2
        """
    static let spec = CommandLineArguments.Spec(options: ["model"], flags: ["json"])

    struct Report: Encodable {
        let model_type: String
        let config: [String: String]
        let parameters: Int
        let tensors: Int
        let dtypes: [String: Int]
        let files: [String]
        let stored_bytes: Int
        let weights_fp32_bytes: Int
        let mapped_bytes: Int
        let kv_cache_bytes_per_sequence: Int
        let context_length: Int
    }

    static func run(_ arguments: CommandLineArguments) throws {
        let directory = try modelDirectory(arguments)
        let report = try inspect(directory)
        if arguments.has("json") {
            try printJSON(report)
            return
        }
        print("model type      \(report.model_type)")
        for (key, value) in report.config.sorted(by: { $0.key < $1.key }) {
            print("  \(key.padding(toLength: 30, withPad: " ", startingAt: 0)) \(value)")
        }
        print("parameters      \(formatCount(report.parameters)) (\(report.parameters))")
        print("tensors         \(report.tensors) in \(report.files.joined(separator: ", "))")
        print(
            "stored dtypes   "
                + report.dtypes.sorted(by: { $0.key < $1.key }).map { "\($0.key): \($0.value) tensors" }.joined(
                    separator: ", "))
        print("stored size     \(formatBytes(report.stored_bytes))")
        print(
            "weights loaded  \(formatBytes(report.weights_fp32_bytes)) at f32 (int8/f16 files as stored), of "
                + "which \(formatBytes(report.mapped_bytes)) memory-mapped from disk")
        print(
            "KV cache        \(formatBytes(report.kv_cache_bytes_per_sequence)) per sequence at "
                + "\(report.context_length) positions")
    }

    static func inspect(_ directory: URL) throws -> Report {
        let checkpoint = try Checkpoint(directory: directory)
        let architecture = try ModelFolder.architecture(of: directory)
        let summary = try architecture.readConfig(directory: directory)
        let table = try architecture.tensorTable(directory: directory, checkpoint: checkpoint)
        let buffers = table.bufferNames
        let tiedCopies = table.tiedCopies(in: checkpoint)
        var dtypes: [String: Int] = [:]
        var parameters = 0
        var fp32Bytes = 0
        var mapped = 0
        for name in checkpoint.tensorNames {
            guard let info = checkpoint.info(name) else { continue }
            if buffers.contains(name) { continue }  // mask buffers, not weights
            dtypes[info.dtype.rawValue, default: 0] += 1
            // Per-row scales and sums of an int8 matrix: stored alongside it, not parameters.
            let isScale = [QuantizedTensors.scaleSuffix, QuantizedTensors.rowSumSuffix].contains { suffix in
                name.hasSuffix(suffix) && checkpoint.info(String(name.dropLast(suffix.count)))?.dtype == .i8
            }
            // One embedding stored under several names, or a tied output layer a quantized file stores.
            if !isScale && !tiedCopies.contains(name) { parameters += info.elementCount }
            let keptAsStored =
                info.dtype == .i8 || isScale
                || checkpoint.metadata(of: name)[QuantizedTensors.layoutKey] != nil && info.dtype == .f16
            fp32Bytes += keptAsStored ? info.dataOffsets.count : info.elementCount * 4
            if info.dtype == .f32 || keptAsStored { mapped += info.dataOffsets.count }
        }
        return Report(
            model_type: summary.modelType, config: summary.fields, parameters: parameters,
            tensors: checkpoint.tensorNames.count, dtypes: dtypes,
            files: checkpoint.files.map { URL(fileURLWithPath: $0.path).lastPathComponent },
            stored_bytes: checkpoint.storedBytes, weights_fp32_bytes: fp32Bytes, mapped_bytes: mapped,
            kv_cache_bytes_per_sequence: summary.kvCacheBytesPerSequence, context_length: summary.contextLength)
    }
}

func formatBytes(_ bytes: Int) -> String {
    let units = ["B", "KiB", "MiB", "GiB"]
    var value = Double(bytes)
    var unit = 0
    while value >= 1024 && unit < units.count - 1 {
        value /= 1024
        unit += 1
    }
    return unit == 0 ? "\(bytes) B" : String(format: "%.1f %@", value, units[unit])
}

func formatCount(_ count: Int) -> String {
    if count >= 1_000_000_000 { return String(format: "%.2fB", Double(count) / 1e9) }
    if count >= 1_000_000 { return String(format: "%.1fM", Double(count) / 1e6) }
    if count >= 1_000 { return String(format: "%.1fK", Double(count) / 1e3) }
    return "\(count)"
}
