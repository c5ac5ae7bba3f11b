import Foundation
import ModelFactory
import Tensor

/// `octavo-infer quantize`: save a model folder with int8 or f16 matrices.
enum QuantizeCommand: Command {
    static let name = "quantize"
    static let summary = "Write a copy of a model folder with int8 or f16 matrices, loaded without conversion"
    static let help = """
        Usage: octavo-infer quantize --model DIR --output DIR [--dtype int8|f16]

        Works on GPT-2 and NLLB / M2M100 folders. Converts every linear layer once (int8: symmetric per output row, CTranslate2's scheme;
        f16: IEEE half) and writes model.safetensors in the layout the loader reads directly,
        beside copies of the config, generation config and tokenizer files. The embedding
        tables stay fp32 (memory-mapped: only the rows used are read). Loading the result
        needs no --dtype. Compare quality with `octavo-infer bench --dtype` on the original.

        Example:
          octavo-infer quantize --model models/gpt2 --output models/gpt2-int8 --dtype int8
        """
    static let spec = CommandLineArguments.Spec(options: ["model", "output", "dtype"])

    static func run(_ arguments: CommandLineArguments) throws {
        let directory = try modelDirectory(arguments)
        let output = URL(fileURLWithPath: try arguments.required("output"), isDirectory: true)
        let precision =
            try GenerateCommand.precisionOption(arguments) == .f32 && arguments.string("dtype") == nil
            ? .int8 : try GenerateCommand.precisionOption(arguments)
        guard precision != .f32 else { throw CLIError.usage("--dtype must be int8 or f16") }
        guard output.standardizedFileURL != directory.standardizedFileURL else {
            throw CLIError.usage("--output must differ from --model")
        }
        let checkpoint = try Checkpoint(directory: directory)
        let table = try ModelFolder.architecture(of: directory).tensorTable(
            directory: directory, checkpoint: checkpoint)
        let matrices = table.quantizableMatrices(in: checkpoint)
        let quantizer = CheckpointQuantizer(checkpoint: checkpoint, matrices: matrices, precision: precision)
        let start = DispatchTime.now()
        let entries = try quantizer.entries()
        try FileManager.default.createDirectory(at: output, withIntermediateDirectories: true)
        for name in ConvertCommand.companionFiles {
            let source = directory.appendingPathComponent(name)
            let target = output.appendingPathComponent(name)
            guard FileManager.default.fileExists(atPath: source.path) else { continue }
            try? FileManager.default.removeItem(at: target)
            try FileManager.default.copyItem(at: source, to: target)
        }
        for stale in ["model.safetensors.index.json"] {
            try? FileManager.default.removeItem(at: output.appendingPathComponent(stale))
        }
        let file = output.appendingPathComponent("model.safetensors")
        try SafeTensorsWriter.write(entries, metadata: quantizer.metadata, to: file)
        let size = (try? FileManager.default.attributesOfItem(atPath: file.path)[.size] as? Int) ?? 0
        FileHandle.standardError.write(
            Data(
                String(
                    format: "wrote %@ (%@, %@ matrices) in %.1f s\n", file.path, formatBytes(size),
                    precision.rawValue, elapsedMilliseconds(since: start) / 1000
                ).utf8))
    }
}
