import Foundation

/// `octavo-infer rm`: delete a model from the Hugging Face cache.
enum RemoveCommand: Command {
    static let name = "rm"
    static let summary = "Delete a model from the Hugging Face cache"
    static let help = """
        Usage: octavo-infer rm NAME

        Deletes a cached repository (every snapshot, blob and ref, and its locks). NAME is a hub id
        (owner/name), a catalog name (gpt2), or a repository's own name (nllb-200-distilled-600M)
        when only one cached repository has it; an ambiguous name deletes nothing and lists the
        candidates. Nothing is asked: 'octavo-infer list' shows what is there first.

        Example:
          octavo-infer rm gpt2-medium
          octavo-infer rm facebook/nllb-200-distilled-600M
        """
    static let spec = CommandLineArguments.Spec(allowsPositionals: true)

    static func run(_ arguments: CommandLineArguments) throws {
        guard arguments.positionals.count == 1, let name = arguments.positionals.first else {
            throw CLIError.usage("give exactly one model to delete, e.g. openai-community/gpt2")
        }
        let cache = try HubConfiguration(arguments).cache
        let repo = try match(name, in: cache.repositories(), catalog: try? ModelCatalog.bundled(), cache: cache)
        let bytes = cache.snapshots(repo).reduce(Int64(0)) { total, snapshot in
            total + CachedModel.size(of: cache.snapshotFolder(repo, commit: snapshot.commit))
        }
        do { try cache.remove(repo) } catch {
            throw CLIError.runtime(
                "\(cache.repositoryFolder(repo).path): cannot delete "
                    + "(\(error.localizedDescription))")
        }
        print("deleted \(repo) (\(decimalBytes(bytes))) from \(cache.root.path)")
    }

    /// The one cached repository `name` names: exactly, through the catalog, or by its name part.
    static func match(_ name: String, in cached: [String], catalog: ModelCatalog?, cache: HubCache) throws -> String {
        if cached.contains(name) { return name }
        var candidates = Set<String>()
        if let entry = catalog?.entry(named: name), cached.contains(entry.repository) {
            candidates.insert(entry.repository)
        }
        for repo in cached where repo.split(separator: "/").last.map(String.init) == name { candidates.insert(repo) }
        switch candidates.count {
        case 1: return candidates.first!
        case 0:
            throw CLIError.runtime(
                "no cached model named \(name) in \(cache.root.path); 'octavo-infer list' "
                    + "shows what is there.")
        default:
            throw CLIError.runtime(
                "\(name) is ambiguous: it names \(candidates.sorted().joined(separator: ", ")); "
                    + "give the full owner/name.")
        }
    }
}
