import Foundation

/// `octavo-infer download`: fetch a model from the Hugging Face hub into the cache or a folder.
enum DownloadCommand: Command {
    static let name = "download"
    static let summary =
        "Fetch a model from the Hugging Face hub into the cache or a folder (resumable, "
        + "checksummed)"
    static let help = """
        Usage: octavo-infer download REPO|CATALOG-NAME [--dir DIR] [--revision REV] [--endpoint URL] [--token TOKEN]
                                     [--include NAME]... [--quiet]

        Downloads what octavo-infer needs from a hub repository (OWNER/NAME[@REVISION], or a
        name from 'octavo-infer models'): config.json, generation_config.json, the tokenizer files
        (tokenizer.json, vocab.json, merges.txt, sentencepiece.bpe.model, tokenizer_config.json,
        special_tokens_map.json, added_tokens.json) and one set of weights: the safetensors (one
        file or every shard of an index) when the repository has them, else the PyTorch
        pytorch_model.bin (or its shards and index). Other formats are skipped; the choice is printed.

        Without --dir the files go to the Hugging Face cache ($HF_HUB_CACHE, else $HF_HOME/hub, else
        ~/.cache/huggingface/hub) in huggingface_hub's layout, shared with huggingface-cli and
        transformers, and every command then takes the same name as --model. Large files are checked
        against the SHA-256 the hub publishes before they are moved into place; an interrupted
        download resumes where it stopped (blobs/<sha256>.incomplete in the cache, DIR/NAME.part
        in a folder).

        Options:
          --dir DIR          download into this plain folder instead of the cache
          --revision REV     branch, tag or commit (default: main, or the catalog's revision)
          --endpoint URL     hub address (default: $HF_ENDPOINT or https://huggingface.co)
          --token TOKEN      access token for private or gated repos (default: $HF_TOKEN, or the
                             token file huggingface-cli login writes)
          --include NAME     also fetch this file (repeatable; * and ? wildcards)
          --timeout SECONDS  network timeout per request (default: 60)
          --quiet            no progress output
          --offline          no network (as HF_HUB_OFFLINE=1): print the cached snapshot, or fail

        Example:
          octavo-infer download gpt2
          octavo-infer download facebook/nllb-200-distilled-600M
          octavo-infer download openai-community/gpt2-medium --dir models/gpt2-medium
        """
    static let spec = CommandLineArguments.Spec(
        options: ["dir", "revision", "endpoint", "token", "timeout"], repeatable: ["include"],
        flags: ["quiet", "offline"],
        allowsPositionals: true)

    static func run(_ arguments: CommandLineArguments) throws {
        guard arguments.positionals.count == 1, let name = arguments.positionals.first else {
            throw CLIError.usage(
                "give exactly one repository, e.g. openai-community/gpt2, or a catalog name, e.g. "
                    + "gpt2")
        }
        let reference = ModelReference.parse(name, catalog: { try? ModelCatalog.bundled() })
        // download always names a repository, even where a folder has the same name.
        let named = reference.repository ?? (ModelReference.isRepositoryID(name) ? (name, "main") : nil)
        guard let (repo, defaultRevision) = named else {
            throw CLIError.usage(HubError.invalidRepository(name).description)
        }
        let revision = arguments.string("revision") ?? defaultRevision
        guard ModelReference.isRevision(revision) else {
            throw CLIError.usage("--revision '\(revision)' is not a revision")
        }
        let configuration = try HubConfiguration(arguments)
        let destination: SnapshotDownloader.Destination =
            arguments.string("dir")
            .map { .folder(URL(fileURLWithPath: $0, isDirectory: true)) } ?? .cache(configuration.cache)
        if configuration.offline {
            // As huggingface-cli does offline: the cached snapshot if it is complete, else an error.
            guard case .cache(let cache) = destination else {
                throw CLIError.runtime(
                    "downloads are off (HF_HUB_OFFLINE=1 or --offline); nothing can be fetched "
                        + "into --dir")
            }
            guard let snapshot = cache.snapshot(repo, revision: revision), ModelResolver.isComplete(snapshot) else {
                throw CLIError.runtime(
                    HubError.offline(
                        reference: name, cache: cache.root.path,
                        reason: "not "
                            + "complete",
                        fetchCommand: "octavo-infer download \(name)"
                    ).description)
            }
            print(snapshot.path)
            return
        }
        let downloader = configuration.downloader()
        do {
            let folder = try downloader.fetch(
                repo: repo, revision: revision, include: arguments.strings("include"), into: destination)
            downloader.progress.say("\(repo) is ready in \(folder.path)")
            print(folder.path)
        } catch let error as HubError {
            throw CLIError.runtime(error.description)
        }
    }
}
