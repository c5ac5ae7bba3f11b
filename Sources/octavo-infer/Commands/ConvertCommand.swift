import Foundation
import ModelFactory
import Tensor

/// `octavo-infer convert`: rewrite a model folder's weights as safetensors (from PyTorch
/// `.bin` files, or to another float dtype), sharded past a size, beside its tokenizer and configs.
enum ConvertCommand: Command {
    static let name = "convert"
    static let summary = "Write a model folder's weights (e.g. pytorch_model.bin) as safetensors, which load faster"
    static let help = """
        Usage: octavo-infer convert --model DIR --output DIR [--dtype f32|f16|bf16] [--max-shard-size 2GB]

        Reads the weights of DIR (pytorch_model.bin, its shards, or safetensors) and writes them as
        safetensors to the output folder: model.safetensors, or model-0000N-of-0000M.safetensors and
        model.safetensors.index.json when they exceed --max-shard-size (KB/MB/GB = 1000^n bytes,
        KiB/MiB/GiB = 1024^n). Tensors that share storage (tied embeddings) are written once.
        --dtype converts every float tensor (rounding to nearest even, as torch does); without it
        each tensor keeps its stored dtype (F64 becomes F32). config.json, generation_config.json and
        the tokenizer files are copied. PyTorch files are read natively: nothing in them is executed.

        Example:
          octavo-infer convert --model models/nllb-600m-bin --output models/nllb-600m
        """
    static let spec = CommandLineArguments.Spec(options: ["model", "output", "dtype", "max-shard-size"])

    /// The files of a model folder other than its weights.
    static let companionFiles = [
        "config.json", "generation_config.json", "tokenizer.json", "tokenizer_config.json",
        "special_tokens_map.json", "added_tokens.json", "vocab.json", "merges.txt",
        "sentencepiece.bpe.model", "tokenizer.model",
    ]

    static func run(_ arguments: CommandLineArguments) throws {
        let directory = try modelDirectory(arguments, loadsWeights: false)
        let output = URL(fileURLWithPath: try arguments.required("output"), isDirectory: true)
        guard output.standardizedFileURL != directory.standardizedFileURL else {
            throw CLIError.usage("--output must differ from --model")
        }
        let target: DType?
        switch arguments.string("dtype") {
        case nil: target = nil
        case "f32": target = .f32
        case "f16": target = .f16
        case "bf16": target = .bf16
        case let other?: throw CLIError.usage("--dtype must be f32, f16 or bf16, not '\(other)'")
        }
        let maxShardSize = try parseSize(arguments.string("max-shard-size") ?? "2GB")

        let start = DispatchTime.now()
        let checkpoint = try Checkpoint(directory: directory)
        let plan = try plannedTensors(checkpoint, target: target, tiedCopies: tiedCopies(directory, checkpoint))
        let shards = split(plan, maxShardSize: maxShardSize)

        try FileManager.default.createDirectory(at: output, withIntermediateDirectories: true)
        try removeStaleWeights(in: output)
        for name in companionFiles {
            let source = directory.appendingPathComponent(name)
            let copy = output.appendingPathComponent(name)
            guard FileManager.default.fileExists(atPath: source.path) else { continue }
            try? FileManager.default.removeItem(at: copy)
            try FileManager.default.copyItem(at: source, to: copy)
        }
        var weightMap: [String: String] = [:]
        for (index, shard) in shards.enumerated() {
            let fileName =
                shards.count == 1
                ? "model.safetensors"
                : String(format: "model-%05d-of-%05d.safetensors", index + 1, shards.count)
            let entries = try shard.map { try entry(for: $0, checkpoint: checkpoint) }
            try SafeTensorsWriter.write(
                entries, metadata: ["format": "pt"], to: output.appendingPathComponent(fileName))
            for tensor in shard { weightMap[tensor.name] = fileName }
        }
        let totalBytes = plan.reduce(0) { $0 + $1.bytes }
        if shards.count > 1 {
            let index: [String: Any] = ["metadata": ["total_size": totalBytes], "weight_map": weightMap]
            let data = try JSONSerialization.data(withJSONObject: index, options: [.prettyPrinted, .sortedKeys])
            try data.write(to: output.appendingPathComponent("model.safetensors.index.json"), options: .atomic)
        }
        // Reopening validates what was written (headers, spans) before declaring success.
        let written = try Checkpoint(directory: output)
        guard written.tensorNames.count == plan.count else {
            throw CLIError.runtime(
                "\(output.path): wrote \(written.tensorNames.count) tensors, expected "
                    + "\(plan.count)")
        }
        let skipped = checkpoint.tensorNames.count - plan.count
        var summary = String(
            format: "wrote %d tensors (%@) in %d file(s) to %@ in %.1f s", plan.count,
            formatBytes(totalBytes), shards.count, output.path, elapsedMilliseconds(since: start) / 1000)
        if skipped > 0 { summary += " (\(skipped) tied duplicates written once)" }
        let unsupported = checkpoint.files.flatMap { $0.unsupportedTensors.map { "\($0.key) (\($0.value))" } }.sorted()
        if !unsupported.isEmpty {
            summary += "\nnot written, in dtypes the engine does not read: " + unsupported.joined(separator: ", ")
        }
        FileHandle.standardError.write(Data((summary + "\n").utf8))
    }

    /// One tensor to write: its name, output dtype, shape and size in bytes.
    struct Planned {
        let name: String
        let dtype: DType
        let shape: [Int]
        let bytes: Int
    }

    /// The names the folder's tensor table calls tied copies (`embed_tokens` and `lm_head` beside
    /// `shared`, a tied `lm_head` beside `wte`); none for an architecture this build does not know.
    static func tiedCopies(_ directory: URL, _ checkpoint: Checkpoint) -> Set<String> {
        guard let architecture = try? ModelFolder.architecture(of: directory),
            let table = try? architecture.tensorTable(directory: directory, checkpoint: checkpoint)
        else { return [] }
        return table.tiedCopies(in: checkpoint)
    }

    /// Every readable tensor once: of names whose bytes are the same (tied weights), the one the
    /// model reads rather than a tied copy, then the first by name.
    static func plannedTensors(_ checkpoint: Checkpoint, target: DType?, tiedCopies: Set<String>) throws -> [Planned] {
        func rank(_ name: String) -> Int { tiedCopies.contains(name) ? 1 : 0 }
        struct Identity: Hashable {
            let address: Int
            let count: Int
            let dtype: String
            let shape: [Int]
        }
        var kept: [Identity: String] = [:]
        var empty: [String] = []
        for name in checkpoint.tensorNames {
            guard let view = checkpoint.view(name) else { continue }
            guard let base = view.bytes.baseAddress, view.bytes.count > 0 else {
                empty.append(name)
                continue
            }
            let identity = Identity(
                address: Int(bitPattern: base), count: view.bytes.count, dtype: view.dtype.rawValue,
                shape: view.shape)
            if let other = kept[identity], (rank(other), other) <= (rank(name), name) { continue }
            kept[identity] = name
        }
        return try (Array(kept.values) + empty).sorted().map { name in
            let view = try checkpoint.require(name)
            let isFloat = [.f32, .f16, .bf16].contains(view.dtype)
            let dtype = isFloat ? (target ?? view.dtype) : view.dtype
            return Planned(
                name: name, dtype: dtype, shape: view.shape, bytes: dtype.byteCount(elements: view.elementCount) ?? 0)
        }
    }

    /// Consecutive groups of at most `maxShardSize` bytes (a larger tensor gets a shard of its own).
    static func split(_ plan: [Planned], maxShardSize: Int) -> [[Planned]] {
        var shards: [[Planned]] = [[]]
        var size = 0
        for tensor in plan {
            if size + tensor.bytes > maxShardSize, !shards[shards.count - 1].isEmpty {
                shards.append([])
                size = 0
            }
            shards[shards.count - 1].append(tensor)
            size += tensor.bytes
        }
        return shards
    }

    static func entry(for tensor: Planned, checkpoint: Checkpoint) throws -> SafeTensorsWriter.Entry {
        let view = try checkpoint.require(tensor.name)
        if view.dtype == tensor.dtype {
            return SafeTensorsWriter.Entry(
                name: tensor.name, dtype: tensor.dtype, shape: tensor.shape,
                data: Data(view.bytes))
        }
        let floats = try view.floats()
        var data = Data(count: tensor.bytes)
        data.withUnsafeMutableBytes { out in
            let input = UnsafeBufferPointer(start: floats.pointer, count: view.elementCount)
            switch tensor.dtype {
            case .f16:
                for (index, value) in input.enumerated() {
                    out.storeBytes(of: Float16(value), toByteOffset: index * 2, as: Float16.self)
                }
            case .bf16:
                for (index, value) in input.enumerated() {
                    out.storeBytes(of: bfloat16Bits(value), toByteOffset: index * 2, as: UInt16.self)
                }
            default:
                out.copyMemory(from: UnsafeRawBufferPointer(input))
            }
        }
        return SafeTensorsWriter.Entry(name: tensor.name, dtype: tensor.dtype, shape: tensor.shape, data: data)
    }

    /// The bfloat16 nearest to `value` (ties to even), as torch rounds; NaN stays NaN.
    static func bfloat16Bits(_ value: Float) -> UInt16 {
        if value.isNaN { return 0x7FC0 }
        let bits = value.bitPattern
        return UInt16(truncatingIfNeeded: (bits &+ 0x7FFF &+ ((bits >> 16) & 1)) >> 16)
    }

    /// "2GB", "500MB", "150KB", "1GiB" or a plain byte count.
    static func parseSize(_ text: String) throws -> Int {
        let units: [(String, Int)] = [
            ("GIB", 1 << 30), ("MIB", 1 << 20), ("KIB", 1 << 10),
            ("GB", 1_000_000_000), ("MB", 1_000_000), ("KB", 1000), ("B", 1),
        ]
        let upper = text.uppercased().trimmingCharacters(in: .whitespaces)
        for (suffix, scale) in units where upper.hasSuffix(suffix) {
            let digits = upper.dropLast(suffix.count).trimmingCharacters(in: .whitespaces)
            if let number = Double(digits), number > 0, number * Double(scale) < 1e15 {
                return Int(number * Double(scale))
            }
        }
        if let bytes = Int(upper), bytes > 0 { return bytes }
        throw CLIError.usage("--max-shard-size must be a size such as 2GB, 500MB or 1GiB, not '\(text)'")
    }

    /// A previous conversion's weights would be read instead of (or mixed with) the new ones.
    static func removeStaleWeights(in output: URL) throws {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: output.path)) ?? []
        for name in names
        where name == "model.safetensors.index.json" || (name.hasPrefix("model") && name.hasSuffix(".safetensors")) {
            try FileManager.default.removeItem(at: output.appendingPathComponent(name))
        }
    }
}

/// Says once per folder, on stderr, that a folder's weights are PyTorch `.bin` files and how to make it
/// load faster (the library reads them silently; this is the CLI's advice).
func notePyTorchWeights(in directory: URL) {
    guard !PyTorchNotice.shown.contains(directory.path), Checkpoint.format(of: directory) == .pytorch else { return }
    PyTorchNotice.shown.insert(directory.path)
    let note =
        "octavo-infer: \(directory.path) has PyTorch weights (pytorch_model.bin), read natively; "
        + "`octavo-infer convert --model \(directory.path) --output DIR` writes safetensors, which load faster.\n"
    FileHandle.standardError.write(Data(note.utf8))
}

private enum PyTorchNotice {
    nonisolated(unsafe) static var shown: Set<String> = []
}
