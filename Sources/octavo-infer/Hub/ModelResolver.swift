import Foundation

/// Turns a `--model` value into a model folder: a folder as is; a hub id or catalog name
/// through the Hugging Face cache, downloading what is missing unless offline. Every command
/// resolves its models here.
struct ModelResolver {
    let configuration: HubConfiguration
    let catalog: () -> ModelCatalog?

    init(_ arguments: CommandLineArguments, environment: [String: String] = ProcessInfo.processInfo.environment) throws
    {
        configuration = try HubConfiguration(arguments, environment: environment)
        // Read only when a value is neither a folder nor a path, and at most once.
        var loaded: ModelCatalog??
        catalog = {
            if loaded == nil { loaded = .some(try? ModelCatalog.bundled()) }
            return loaded!
        }
    }

    /// The folder `value` names, downloading into the cache when needed.
    func resolve(_ value: String) throws -> URL {
        let reference = ModelReference.parse(value, catalog: catalog)
        guard let (repo, revision) = reference.repository else { return try Self.existingFolder(value) }
        let cache = configuration.cache
        if let snapshot = cache.snapshot(repo, revision: revision), Self.isComplete(snapshot) { return snapshot }
        let fetch = "octavo-infer download \(value)"
        // `models/gpt2` may be a folder the user meant, not a repository.
        let folderHint =
            reference == .hub(repo: repo, revision: revision)
            ? " (There is no folder named \(value) here either.)" : ""
        if configuration.offline {
            let present = cache.snapshot(repo, revision: revision) != nil
            let error = HubError.offline(
                reference: describe(reference), cache: cache.root.path,
                reason: present ? "incomplete" : "not", fetchCommand: fetch)
            throw CLIError.runtime(error.description + folderHint)
        }
        do {
            let progress = DownloadProgress.forStandardError(quiet: configuration.quiet)
            progress.say("\(describe(reference)) is not in the cache (\(cache.root.path)): downloading it")
            return try SnapshotDownloader(client: configuration.client, progress: progress)
                .fetch(repo: repo, revision: revision, into: .cache(cache))
        } catch let error as HubError {
            guard case .repositoryNotFound = error else { throw CLIError.runtime(error.description) }
            throw CLIError.runtime(error.description + folderHint)
        }
    }

    private func describe(_ reference: ModelReference) -> String {
        switch reference {
        case .folder(let path): return path
        case .hub(let repo, let revision): return revision == "main" ? repo : "\(repo)@\(revision)"
        case .catalog(let entry, let revision):
            return "\(entry.name) (\(entry.repository)\(revision == entry.revision ? "" : "@" + revision))"
        }
    }

    /// A snapshot can be used as is when it has a config and one weight layout whose files
    /// are all there (every shard an index names, every symlink resolving).
    static func isComplete(_ folder: URL) -> Bool {
        let exists = { (name: String) in
            FileManager.default.fileExists(atPath: folder.appendingPathComponent(name).path)
        }
        guard exists("config.json"), let names = try? FileManager.default.contentsOfDirectory(atPath: folder.path),
            let selection = try? RepositoryFiles.select(names.filter(exists), repo: folder.path)
        else { return false }
        for index in selection.files where index.hasSuffix(".index.json") {
            guard let data = FileManager.default.contents(atPath: folder.appendingPathComponent(index).path),
                let object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any],
                let map = object["weight_map"] as? [String: String],
                Set(map.values).allSatisfy(exists)
            else { return false }
        }
        return true
    }

    /// `value` as a folder URL that exists.
    static func existingFolder(_ path: String) throws -> URL {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw CLIError.runtime(
                "\(path): no such folder. --model takes a Hugging Face model folder, a hub id "
                    + "(owner/name[@revision]) or a catalog name ('octavo-infer models' lists them).")
        }
        guard isDirectory.boolValue else {
            throw CLIError.runtime("\(path): not a folder. --model takes the model's folder, not a file in it.")
        }
        return URL(fileURLWithPath: path, isDirectory: true)
    }
}
