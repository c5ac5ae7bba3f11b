import Foundation
import GPT2
import Tensor

/// `octavo-infer inspect`: what a model folder holds and what it will cost to run.
enum InspectCommand: Command {
    static let name = "inspect"
    static let summary = "Show a model folder's config, parameter count, dtypes and memory"
    static let help = """
    Usage: octavo-infer inspect --model DIR [--json]

    Reads config.json and the safetensors headers (no weights are loaded) and prints
    the architecture, the parameter count, the stored dtypes, and the memory the model
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
        for (key, value) in report.config.sorted(by: { $0.key < $1.key }) { print("  \(key.padding(toLength: 30, withPad: " ", startingAt: 0)) \(value)") }
        print("parameters      \(formatCount(report.parameters)) (\(report.parameters))")
        print("tensors         \(report.tensors) in \(report.files.joined(separator: ", "))")
        print("stored dtypes   " + report.dtypes.sorted(by: { $0.key < $1.key }).map { "\($0.key): \($0.value) tensors" }.joined(separator: ", "))
        print("stored size     \(formatBytes(report.stored_bytes))")
        print("weights loaded  \(formatBytes(report.weights_fp32_bytes)) at f32 (int8/f16 files as stored), of which \(formatBytes(report.mapped_bytes)) memory-mapped from disk")
        print("KV cache        \(formatBytes(report.kv_cache_bytes_per_sequence)) per sequence at \(report.context_length) positions")
    }

    static func inspect(_ directory: URL) throws -> Report {
        let checkpoint = try Checkpoint(directory: directory)
        let config = try GPT2Config.load(directory: directory)
        var dtypes: [String: Int] = [:]
        var parameters = 0, fp32Bytes = 0, mapped = 0
        for name in checkpoint.tensorNames {
            guard let info = checkpoint.info(name) else { continue }
            if name.hasSuffix(".attn.bias") || name.hasSuffix(".attn.masked_bias") { continue }  // mask buffers, not weights
            dtypes[info.dtype.rawValue, default: 0] += 1
            // Per-row scales and sums of an int8 matrix: stored alongside it, not parameters.
            let isScale = [QuantizedTensors.scaleSuffix, QuantizedTensors.rowSumSuffix].contains { suffix in
                name.hasSuffix(suffix) && checkpoint.info(String(name.dropLast(suffix.count)))?.dtype == .i8
            }
            // A quantized file stores the tied output layer explicitly: not more parameters.
            let isTiedCopy = name == "lm_head.weight" && config.tieWordEmbeddings
            if !isScale && !isTiedCopy { parameters += info.elementCount }
            let keptAsStored = info.dtype == .i8 || isScale || checkpoint.metadata(of: name)[QuantizedTensors.layoutKey] != nil && info.dtype == .f16
            fp32Bytes += keptAsStored ? info.dataOffsets.count : info.elementCount * 4
            if info.dtype == .f32 || keptAsStored { mapped += info.dataOffsets.count }
        }
        let kvBytes = 2 * config.nLayer * config.nPositions * config.nEmbd * 4
        let fields: [String: String] = [
            "n_layer": "\(config.nLayer)", "n_head": "\(config.nHead)", "n_embd": "\(config.nEmbd)",
            "n_positions": "\(config.nPositions)", "vocab_size": "\(config.vocabSize)", "n_inner": "\(config.innerDim)",
            "activation_function": config.activationFunction, "layer_norm_epsilon": "\(config.layerNormEpsilon)",
            "tie_word_embeddings": "\(config.tieWordEmbeddings)",
        ]
        return Report(
            model_type: config.modelType, config: fields, parameters: parameters, tensors: checkpoint.tensorNames.count,
            dtypes: dtypes, files: checkpoint.files.map { URL(fileURLWithPath: $0.path).lastPathComponent },
            stored_bytes: checkpoint.storedBytes, weights_fp32_bytes: fp32Bytes, mapped_bytes: mapped,
            kv_cache_bytes_per_sequence: kvBytes, context_length: config.nPositions)
    }
}

func formatBytes(_ bytes: Int) -> String {
    let units = ["B", "KiB", "MiB", "GiB"]
    var value = Double(bytes), unit = 0
    while value >= 1024 && unit < units.count - 1 { value /= 1024; unit += 1 }
    return unit == 0 ? "\(bytes) B" : String(format: "%.1f %@", value, units[unit])
}

func formatCount(_ count: Int) -> String {
    if count >= 1_000_000_000 { return String(format: "%.2fB", Double(count) / 1e9) }
    if count >= 1_000_000 { return String(format: "%.1fM", Double(count) / 1e6) }
    if count >= 1_000 { return String(format: "%.1fK", Double(count) / 1e3) }
    return "\(count)"
}
