import Foundation
import Kernels

/// One file of a checkpoint: a safetensors file or a PyTorch `.bin`, whose tensors are
/// looked up by name.
public protocol CheckpointFile: AnyObject, Sendable {
    var path: String { get }
    /// The tensors the engine can read, by name.
    var tensors: [String: TensorInfo] { get }
    var metadata: [String: String] { get }
    /// Tensors present in the file in a dtype the engine does not read (name -> dtype).
    var unsupportedTensors: [String: String] { get }
    /// Bytes of tensor data in the file (storage shared by several tensors counted once).
    var storedBytes: Int { get }
    func view(_ name: String) -> TensorView?
}

extension CheckpointFile {
    public var unsupportedTensors: [String: String] { [:] }
    public var storedBytes: Int { tensors.values.reduce(0) { $0 + $1.dataOffsets.count } }
}

extension SafeTensorsFile: CheckpointFile {}

/// The weights of a model folder, looked up by tensor name: `model.safetensors`, the shards
/// listed by `model.safetensors.index.json`, or, when the folder has no safetensors (as
/// transformers prefers them too), `pytorch_model.bin` or the shards of
/// `pytorch_model.bin.index.json`, read natively (`TorchCheckpointFile`).
public final class Checkpoint: Sendable {
    /// How a model folder stores its weights.
    public enum Format: String, Sendable {
        case safetensors
        case pytorch
    }

    /// The files making up the checkpoint, in the order they were opened.
    public let files: [any CheckpointFile]
    private let location: [String: any CheckpointFile]

    /// The weights file names looked for, in order of preference.
    static let candidates: [(name: String, format: Format, isIndex: Bool)] = [
        ("model.safetensors.index.json", .safetensors, true), ("model.safetensors", .safetensors, false),
        ("pytorch_model.bin.index.json", .pytorch, true), ("pytorch_model.bin", .pytorch, false),
    ]

    /// The weights file `init(directory:)` opens in `directory`, or nil when it has none.
    static func weightsFile(in directory: URL) -> (name: String, format: Format, isIndex: Bool)? {
        candidates.first { FileManager.default.fileExists(atPath: directory.appendingPathComponent($0.name).path) }
    }

    /// The format `init(directory:)` will read in `directory`, or nil when it has no weights.
    public static func format(of directory: URL) -> Format? { weightsFile(in: directory)?.format }

    /// Opens the weights of a Hugging Face model folder.
    public convenience init(directory: URL) throws {
        guard let found = Self.weightsFile(in: directory) else {
            let single = directory.appendingPathComponent("model.safetensors")
            throw TensorError.fileNotFound(
                path: single.path + " (Expected model.safetensors, model.safetensors.index.json, "
                    + "pytorch_model.bin or pytorch_model.bin.index.json.)")
        }
        let url = directory.appendingPathComponent(found.name)
        if found.isIndex {
            try self.init(index: url)
        } else {
            try self.init(files: [Self.openFile(url)])
        }
    }

    /// Opens one weights file by its extension: `.safetensors`, else a PyTorch checkpoint.
    static func openFile(_ url: URL) throws -> any CheckpointFile {
        if url.pathExtension == "safetensors" { return try SafeTensorsFile(path: url.path) }
        return try TorchCheckpointFile(path: url.path)
    }

    /// Opens a sharded checkpoint from its index (`{"weight_map": {tensor: shard}}`).
    public convenience init(index: URL) throws {
        let data: Data
        do { data = try Data(contentsOf: index) } catch {
            throw TensorError.cannotOpen(path: index.path, reason: error.localizedDescription)
        }
        guard let object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
            throw TensorError.malformedIndex(path: index.path, reason: "not a JSON object")
        }
        guard let weightMap = object["weight_map"] as? [String: Any] else {
            throw TensorError.malformedIndex(path: index.path, reason: "no weight_map object")
        }
        var shards: [String: any CheckpointFile] = [:]
        var ordered: [any CheckpointFile] = []
        let folder = index.deletingLastPathComponent()
        for shardName in Set(weightMap.values.compactMap { $0 as? String }).sorted() {
            // A shard name is a file in the same folder, never a path elsewhere.
            guard !shardName.contains("/"), shardName != "..", !shardName.isEmpty else {
                throw TensorError.malformedIndex(
                    path: index.path,
                    reason: "shard name '\(shardName)' is not a "
                        + "file name")
            }
            let url = folder.appendingPathComponent(shardName)
            guard FileManager.default.fileExists(atPath: url.path) else {
                throw TensorError.missingShard(index: index.path, shard: shardName)
            }
            let file = try Self.openFile(url)
            shards[shardName] = file
            ordered.append(file)
        }
        var location: [String: any CheckpointFile] = [:]
        for (tensor, value) in weightMap {
            guard let shardName = value as? String, let file = shards[shardName] else {
                throw TensorError.malformedIndex(
                    path: index.path, reason: "weight_map['\(tensor)'] is not a shard file name")
            }
            guard file.tensors[tensor] != nil || file.unsupportedTensors[tensor] != nil else {
                throw TensorError.malformedIndex(
                    path: index.path, reason: "'\(tensor)' is mapped to \(shardName), which does not contain it")
            }
            location[tensor] = file
        }
        self.init(files: ordered, location: location)
    }

    /// A checkpoint made of the given files; a name present in two files is taken from the first.
    public init(files: [any CheckpointFile], location: [String: any CheckpointFile]? = nil) {
        self.files = files
        if let location {
            self.location = location
        } else {
            var map: [String: any CheckpointFile] = [:]
            for file in files {
                for name in file.tensors.keys where map[name] == nil { map[name] = file }
            }
            self.location = map
        }
    }

    /// Every tensor name in the checkpoint.
    public var tensorNames: [String] { location.keys.sorted() }

    /// The `__metadata__` of the file holding `name` (empty when absent).
    public func metadata(of name: String) -> [String: String] { location[name]?.metadata ?? [:] }

    /// Metadata of the tensor, if present.
    public func info(_ name: String) -> TensorInfo? { location[name]?.tensors[name] }

    /// The tensor's bytes, or nil when absent.
    public func view(_ name: String) -> TensorView? { location[name]?.view(name) }

    /// The first of `names` that exists, or `TensorError.missingTensor` (`unexpectedDType` when
    /// it exists in a dtype the engine does not read, such as a PyTorch file's I64 or BOOL).
    public func require(_ names: String...) throws -> TensorView {
        for name in names { if let view = view(name) { return view } }
        for name in names {
            for file in files {
                if let dtype = file.unsupportedTensors[name] {
                    let fileName = URL(fileURLWithPath: file.path).lastPathComponent
                    throw TensorError.unexpectedDType(
                        tensor: name, expected: "F32, F16, BF16, F64, I8 or I32",
                        got: "\(dtype) in \(fileName)")
                }
            }
        }
        throw TensorError.missingTensor(
            name: names[0], searched: files.map { URL(fileURLWithPath: $0.path).lastPathComponent })
    }

    /// Total bytes of stored tensor data.
    public var storedBytes: Int { files.reduce(0) { $0 + $1.storedBytes } }
}
