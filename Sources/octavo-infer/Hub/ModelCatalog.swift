import Foundation

/// One model of the catalog (a file in the top-level `Models/` folder).
struct CatalogEntry: Codable, Equatable {
    let name: String
    let repository: String
    let revision: String
    /// config.json's `model_type`.
    let architecture: String
    let parameters: Int
    let license: String
    /// Approximate size of what `download` fetches.
    let downloadBytes: Int64
    /// `safetensors` or `bin`.
    let weights: String
    /// `story-generator` or `translator`.
    let role: String
    let recommendedDtype: String
    let description: String

    enum CodingKeys: String, CodingKey {
        case name, repository, revision, architecture, parameters, license, weights, role, description
        case downloadBytes = "download_bytes"
        case recommendedDtype = "recommended_dtype"
    }
}

/// The model catalog: `Models/*.json`, copied into the executable's resource bundle at build
/// time and read at run time, so it works from any working directory.
struct ModelCatalog {
    let entries: [CatalogEntry]

    /// Where SwiftPM puts the `Models/` resource: in `OctavoInfer_octavo-infer.resources`
    /// beside the executable. Looked up by hand, because `Bundle.module` traps when it is missing.
    static var bundledFolder: URL {
        Bundle.main.bundleURL.appendingPathComponent("OctavoInfer_octavo-infer.resources/Models", isDirectory: true)
    }

    /// The catalog shipped with the binary.
    static func bundled() throws -> ModelCatalog {
        try load(folder: bundledFolder)
    }

    static func load(folder: URL) throws -> ModelCatalog {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: folder.path) else {
            throw CLIError.runtime(
                "\(folder.path): the model catalog is missing; install the binary together with "
                    + "OctavoInfer_octavo-infer.resources (swift build puts it beside octavo-infer).")
        }
        var entries: [CatalogEntry] = []
        for name in names.sorted() where name.hasSuffix(".json") {
            let url = folder.appendingPathComponent(name)
            do {
                let entry = try JSONDecoder().decode(CatalogEntry.self, from: Data(contentsOf: url))
                guard entry.name + ".json" == name else {
                    throw CLIError.runtime("\(url.path): \"name\" is '\(entry.name)'; it must match the file name")
                }
                guard ModelReference.isRepositoryID(entry.repository) else {
                    throw CLIError.runtime("\(url.path): \"repository\" '\(entry.repository)' is not OWNER/NAME")
                }
                entries.append(entry)
            } catch let error as CLIError {
                throw error
            } catch {
                throw CLIError.runtime("\(url.path): not a catalog entry (\(error))")
            }
        }
        // Story generators, then translators; smallest first.
        return ModelCatalog(
            entries: entries.sorted { ($0.role, $0.parameters, $0.name) < ($1.role, $1.parameters, $1.name) })
    }

    func entry(named name: String) -> CatalogEntry? { entries.first { $0.name == name } }

    func entries(forRepository repo: String) -> [CatalogEntry] { entries.filter { $0.repository == repo } }
}
