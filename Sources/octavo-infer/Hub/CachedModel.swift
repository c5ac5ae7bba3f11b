import Foundation
import Tensor

/// One snapshot in the Hugging Face cache, described for `octavo-infer list`.
struct CachedModel: Encodable {
    let repository: String
    /// The catalog name of the repository, if it has one.
    let catalogName: String?
    /// The refs (branches, tags) that point at this snapshot.
    let refs: [String]
    let commit: String
    let path: String
    /// Bytes of the snapshot's files.
    let bytes: Int64
    /// config.json's `model_type`.
    let architecture: String?
    /// The stored dtype: the safetensors header's (most bytes), else config.json's `torch_dtype`.
    let dtype: String?
    /// `safetensors` or `bin`: the weights the loader will read.
    let weights: String?

    enum CodingKeys: String, CodingKey {
        case repository, refs, commit, path, bytes, architecture, dtype, weights
        case catalogName = "catalog_name"
    }

    /// The revision column: the refs, else the commit's first 12 characters.
    var revision: String { refs.isEmpty ? String(commit.prefix(12)) : refs.joined(separator: ",") }

    /// Every snapshot of every model repository in the cache.
    static func scan(_ cache: HubCache, catalog: ModelCatalog?) -> [CachedModel] {
        cache.repositories().flatMap { repo in
            cache.snapshots(repo).map { snapshot in
                describe(
                    cache.snapshotFolder(repo, commit: snapshot.commit), repo: repo, commit: snapshot.commit,
                    refs: snapshot.refs, catalogName: catalog?.entries(forRepository: repo).first?.name)
            }
        }
    }

    static func describe(_ folder: URL, repo: String, commit: String, refs: [String], catalogName: String?)
        -> CachedModel
    {
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? [])
            .filter { FileManager.default.fileExists(atPath: folder.appendingPathComponent($0).path) }
        let selection = try? RepositoryFiles.select(names, repo: repo)
        let config = (FileManager.default.contents(atPath: folder.appendingPathComponent("config.json").path))
            .flatMap { (try? JSONSerialization.jsonObject(with: $0)) as? [String: Any] }
        var dtype: String?
        if selection?.format == .safetensors,
            let first = selection?.files.first(where: { $0.hasSuffix(".safetensors") })
        {
            dtype = storedDtype(folder.appendingPathComponent(first))
        }
        if dtype == nil, let torchDtype = config?["torch_dtype"] as? String {
            dtype = ["float32": "f32", "float16": "f16", "bfloat16": "bf16"][torchDtype] ?? torchDtype
        }
        return CachedModel(
            repository: repo, catalogName: catalogName, refs: refs, commit: commit, path: folder.path,
            bytes: size(of: folder), architecture: config?["model_type"] as? String, dtype: dtype,
            weights: selection?.format.rawValue)
    }

    /// The dtype holding the most bytes in a safetensors file's header (lowercase: f32, f16, bf16, i8).
    static func storedDtype(_ url: URL) -> String? {
        guard let file = try? SafeTensorsFile(path: url.path) else { return nil }
        var bytes: [DType: Int] = [:]
        for tensor in file.tensors.values { bytes[tensor.dtype, default: 0] += tensor.dataOffsets.count }
        return bytes.max { $0.value < $1.value }?.key.rawValue.lowercased()
    }

    /// Bytes of the files under `folder`, following the snapshot's symlinks to their blobs.
    static func size(of folder: URL) -> Int64 {
        guard let walker = FileManager.default.enumerator(atPath: folder.path) else { return 0 }
        var total: Int64 = 0
        while let name = walker.nextObject() as? String {
            // stat follows the symlink to the blob.
            var info = stat()
            guard stat(folder.appendingPathComponent(name).path, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else {
                continue
            }
            total += Int64(info.st_size)
        }
        return total
    }
}
