import Foundation

/// The weights of a model folder: one `model.safetensors`, or the shards listed by
/// `model.safetensors.index.json`, looked up by tensor name.
public final class Checkpoint: @unchecked Sendable {
    /// The files making up the checkpoint, in the order they were opened.
    public let files: [SafeTensorsFile]
    private let location: [String: SafeTensorsFile]

    /// Opens the weights of a Hugging Face model folder.
    public convenience init(directory: URL) throws {
        let index = directory.appendingPathComponent("model.safetensors.index.json")
        let single = directory.appendingPathComponent("model.safetensors")
        let manager = FileManager.default
        if manager.fileExists(atPath: index.path) {
            try self.init(index: index)
        } else if manager.fileExists(atPath: single.path) {
            try self.init(files: [SafeTensorsFile(path: single.path)])
        } else {
            var hint = "Expected model.safetensors or model.safetensors.index.json."
            if manager.fileExists(atPath: directory.appendingPathComponent("pytorch_model.bin").path) {
                hint += " The folder has only pytorch_model.bin; convert it to safetensors (transformers: model.save_pretrained(dir, safe_serialization=True))."
            }
            throw TensorError.fileNotFound(path: single.path + " (\(hint))")
        }
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
        var shards: [String: SafeTensorsFile] = [:]
        var ordered: [SafeTensorsFile] = []
        let folder = index.deletingLastPathComponent()
        for shardName in Set(weightMap.values.compactMap { $0 as? String }).sorted() {
            // A shard name is a file in the same folder, never a path elsewhere.
            guard !shardName.contains("/"), shardName != "..", !shardName.isEmpty else {
                throw TensorError.malformedIndex(path: index.path, reason: "shard name '\(shardName)' is not a file name")
            }
            let url = folder.appendingPathComponent(shardName)
            guard FileManager.default.fileExists(atPath: url.path) else {
                throw TensorError.missingShard(index: index.path, shard: shardName)
            }
            let file = try SafeTensorsFile(path: url.path)
            shards[shardName] = file
            ordered.append(file)
        }
        var location: [String: SafeTensorsFile] = [:]
        for (tensor, value) in weightMap {
            guard let shardName = value as? String, let file = shards[shardName] else {
                throw TensorError.malformedIndex(path: index.path, reason: "weight_map['\(tensor)'] is not a shard file name")
            }
            guard file.tensors[tensor] != nil else {
                throw TensorError.malformedIndex(path: index.path, reason: "'\(tensor)' is mapped to \(shardName), which does not contain it")
            }
            location[tensor] = file
        }
        self.init(files: ordered, location: location)
    }

    /// A checkpoint made of the given files; a name present in two files is taken from the first.
    public init(files: [SafeTensorsFile], location: [String: SafeTensorsFile]? = nil) {
        self.files = files
        if let location {
            self.location = location
        } else {
            var map: [String: SafeTensorsFile] = [:]
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

    /// The first of `names` that exists, or `TensorError.missingTensor`.
    public func require(_ names: String...) throws -> TensorView {
        for name in names { if let view = view(name) { return view } }
        throw TensorError.missingTensor(name: names[0], searched: files.map { URL(fileURLWithPath: $0.path).lastPathComponent })
    }

    /// Total bytes of stored tensor data.
    public var storedBytes: Int { files.reduce(0) { $0 + $1.tensors.values.reduce(0) { $0 + $1.dataOffsets.count } } }
}
