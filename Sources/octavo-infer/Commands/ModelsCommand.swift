import Foundation

/// `octavo-infer models`: the model catalog (Models/*.json), marking what is cached.
enum ModelsCommand: Command {
    static let name = "models"
    static let summary = "List the model catalog, marking what is in the cache"
    static let help = """
        Usage: octavo-infer models [--json]

        The models the platform may use (the Models/ catalog shipped with the binary): name, role,
        parameters, approximate download size, weights format, license, recommended dtype and hub
        repository. A '*' marks the ones already in the Hugging Face cache. Any name here works as
        --model (e.g. --model gpt2-medium), downloading on first use.

        Options:
          --json   one JSON object: {"models": [{..., "cached": true|false}]}

        Example:
          octavo-infer models
          octavo-infer generate --model distilgpt2 --prompt "Once upon a time"
        """
    static let spec = CommandLineArguments.Spec(flags: ["json"])

    struct Row: Encodable {
        let entry: CatalogEntry
        let cached: Bool

        func encode(to encoder: Encoder) throws {
            try entry.encode(to: encoder)
            var container = encoder.container(keyedBy: Key.self)
            try container.encode(cached, forKey: .cached)
        }

        enum Key: String, CodingKey { case cached }
    }

    static func run(_ arguments: CommandLineArguments) throws {
        let catalog = try ModelCatalog.bundled()
        let cache = try HubConfiguration(arguments).cache
        let rows = catalog.entries.map { entry in
            let snapshot = cache.snapshot(entry.repository, revision: entry.revision)
            return Row(entry: entry, cached: snapshot.map(ModelResolver.isComplete) ?? false)
        }
        if arguments.has("json") {
            struct Output: Encodable { let models: [Row] }
            try printJSON(Output(models: rows))
            return
        }
        let header = ["", "NAME", "ROLE", "PARAMS", "DOWNLOAD", "WEIGHTS", "LICENSE", "DTYPE", "REPOSITORY"]
        print(
            table(
                header: header,
                rows: rows.map { row in
                    let entry = row.entry
                    return [
                        row.cached ? "*" : " ", entry.name, entry.role, formatCount(entry.parameters),
                        "~" + decimalBytes(entry.downloadBytes), entry.weights, entry.license, entry.recommendedDtype,
                        entry.repository,
                    ]
                }))
        print(
            "* in the cache (\(cache.root.path)). Use a name as --model, or 'octavo-infer download NAME' to "
                + "fetch it now.")
    }
}
