import Foundation

/// `octavo-infer list`: the models in the Hugging Face cache.
enum ListCommand: Command {
    static let name = "list"
    static let summary = "List the models in the Hugging Face cache"
    static let help = """
        Usage: octavo-infer list [--json]

        One line per cached snapshot: repository (and its catalog name), revision, size, architecture
        (config.json's model_type), stored dtype (from the safetensors header, else config.json's
        torch_dtype) and which weights the loader reads (safetensors or bin). The cache is
        $HF_HUB_CACHE, else $HF_HOME/hub, else ~/.cache/huggingface/hub; models downloaded by
        huggingface-cli or transformers are listed too.

        Options:
          --json   one JSON object: {"cache": PATH, "models": [...]}

        Example:
          octavo-infer list
          HF_HUB_CACHE=/data/hf octavo-infer list --json
        """
    static let spec = CommandLineArguments.Spec(flags: ["json"])

    struct Output: Encodable {
        let cache: String
        let models: [CachedModel]
    }

    static func run(_ arguments: CommandLineArguments) throws {
        let cache = try HubConfiguration(arguments).cache
        let models = CachedModel.scan(cache, catalog: try? ModelCatalog.bundled())
        if arguments.has("json") {
            try printJSON(Output(cache: cache.root.path, models: models))
            return
        }
        guard !models.isEmpty else {
            print(
                "No models in \(cache.root.path). 'octavo-infer download NAME' fetches one ('octavo-infer "
                    + "models' lists names).")
            return
        }
        let rows = models.map { model in
            [
                model.repository + (model.catalogName.map { " (\($0))" } ?? ""), model.revision,
                decimalBytes(model.bytes),
                model.architecture ?? "?", model.dtype ?? "?", model.weights ?? "none",
            ]
        }
        print(table(header: ["NAME", "REVISION", "SIZE", "ARCHITECTURE", "DTYPE", "WEIGHTS"], rows: rows))
        print("cache: \(cache.root.path)")
    }
}

/// Left-aligned columns separated by two spaces.
func table(header: [String], rows: [[String]]) -> String {
    let all = [header] + rows
    let widths = header.indices.map { column in all.map { $0[column].count }.max() ?? 0 }
    return all.map { row in
        row.indices.map { column in
            column == row.count - 1
                ? row[column] : row[column].padding(toLength: widths[column], withPad: " ", startingAt: 0)
        }.joined(separator: "  ")
    }.joined(separator: "\n")
}
