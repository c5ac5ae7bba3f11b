import Foundation
import Tensor

/// `octavo-infer download`: fetch a model folder from the Hugging Face hub.
enum DownloadCommand: Command {
    static let name = "download"
    static let summary = "Fetch a model folder from the Hugging Face hub (resumable, checksummed)"
    static let help = """
    Usage: octavo-infer download REPO --dir DIR [--revision REV] [--endpoint URL] [--token TOKEN] [--include NAME]...

    Downloads what octavo-infer needs from a hub repository: config.json,
    generation_config.json, the safetensors weights (one file or all shards of an index)
    and the tokenizer files (tokenizer.json, vocab.json, merges.txt, sentencepiece.bpe.model,
    tokenizer_config.json, special_tokens_map.json, added_tokens.json). PyTorch .bin,
    TensorFlow and Flax weights are skipped. Interrupted downloads resume from DIR/NAME.part;
    large files are checked against the SHA-256 the hub publishes; safetensors headers are
    validated at the end.

    Options:
      --dir DIR          destination folder (created if missing)
      --revision REV     branch, tag or commit (default: main)
      --endpoint URL     hub address (default: $HF_ENDPOINT or https://huggingface.co)
      --token TOKEN      access token for private or gated repos (default: $HF_TOKEN)
      --include NAME     also fetch this file (repeatable; * and ? wildcards)
      --timeout SECONDS  network timeout per request (default: 60)

    Example:
      octavo-infer download openai-community/gpt2 --dir models/gpt2
      octavo-infer download facebook/nllb-200-distilled-600M --dir models/nllb-600m
    """
    static let spec = CommandLineArguments.Spec(
        options: ["dir", "revision", "endpoint", "token", "timeout"], repeatable: ["include"], allowsPositionals: true)

    /// Files a model folder needs, besides weight shards.
    static let wanted: Set<String> = [
        "config.json", "generation_config.json", "model.safetensors", "model.safetensors.index.json",
        "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "added_tokens.json",
        "vocab.json", "merges.txt", "sentencepiece.bpe.model",
    ]

    static func run(_ arguments: CommandLineArguments) throws {
        guard arguments.positionals.count == 1, let repo = arguments.positionals.first else {
            throw CLIError.usage("give exactly one repository, e.g. openai-community/gpt2")
        }
        guard isRepositoryID(repo) else { throw CLIError.usage(HubError.invalidRepository(repo).description) }
        let directory = URL(fileURLWithPath: try arguments.required("dir"), isDirectory: true)
        let revision = arguments.string("revision") ?? "main"
        guard !revision.isEmpty, !revision.contains(".."), !revision.hasPrefix("/") else { throw CLIError.usage("--revision '\(revision)' is not a revision") }
        let environment = ProcessInfo.processInfo.environment
        let endpointText = arguments.string("endpoint") ?? environment["HF_ENDPOINT"] ?? "https://huggingface.co"
        guard let endpoint = URL(string: endpointText), let scheme = endpoint.scheme, ["http", "https"].contains(scheme) else {
            throw CLIError.usage("--endpoint '\(endpointText)' is not an http(s) URL")
        }
        let timeout = Double(try arguments.int("timeout") ?? 60)
        let client = HubClient(endpoint: endpoint, token: arguments.string("token") ?? environment["HF_TOKEN"], timeout: timeout)

        do {
            let files = try select(try client.listFiles(repo: repo, revision: revision), include: arguments.strings("include"), repo: repo)
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            for file in files {
                let destination = directory.appendingPathComponent(file)
                let remote = try client.metadata(repo: repo, revision: revision, file: file)
                if try isComplete(destination, remote) {
                    log("\(file): already complete")
                    continue
                }
                log("\(file): downloading" + (remote.size.map { " (\(formatBytes(Int($0))))" } ?? ""))
                try client.download(repo: repo, revision: revision, file: file, to: destination, expected: remote) { done, total in
                    if let total, total > 0 { log(String(format: "  %@: %.0f%%", file, Double(done) / Double(total) * 100)) }
                }
            }
            try validate(directory: directory, files: files)
            log("\(repo) is ready in \(directory.path)")
        } catch let error as HubError {
            throw CLIError.runtime(error.description)
        }
    }

    /// The files to fetch: the wanted set, every shard the repo has, and --include patterns.
    static func select(_ available: [String], include: [String], repo: String) throws -> [String] {
        let safe = available.filter { !$0.hasPrefix("/") && !$0.split(separator: "/").contains("..") }
        var chosen = safe.filter { name in
            wanted.contains(name) || isShard(name) || include.contains { wildcardMatch(pattern: $0, name) }
        }
        guard chosen.contains(where: { $0 == "model.safetensors" || $0 == "model.safetensors.index.json" }) else {
            throw HubError.noSafetensors(repo: repo)
        }
        // One weight layout: an index and its shards, or the single file.
        if chosen.contains("model.safetensors.index.json") {
            chosen.removeAll { $0 == "model.safetensors" }
        } else {
            chosen.removeAll(where: isShard)
        }
        return chosen.sorted()
    }

    static func isShard(_ name: String) -> Bool {
        name.hasPrefix("model-") && name.hasSuffix(".safetensors") && name.contains("-of-")
    }

    static func isRepositoryID(_ text: String) -> Bool {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard (1...2).contains(parts.count) else { return false }
        return parts.allSatisfy { part in
            !part.isEmpty && part != "." && part != ".." && part.allSatisfy { $0.isLetter || $0.isNumber || "-_.".contains($0) }
        }
    }

    static func isComplete(_ url: URL, _ remote: HubClient.RemoteFile) throws -> Bool {
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: url.path),
              let size = attributes[.size] as? Int64 else { return false }
        if let expected = remote.size, expected != size { return false }
        if let digest = remote.sha256 { return try sha256(of: url) == digest }
        return remote.size != nil
    }

    /// Every JSON file parses and every safetensors header is valid.
    static func validate(directory: URL, files: [String]) throws {
        for file in files {
            let url = directory.appendingPathComponent(file)
            if file.hasSuffix(".json") {
                guard let data = FileManager.default.contents(atPath: url.path), (try? JSONSerialization.jsonObject(with: data)) != nil else {
                    throw CLIError.runtime("\(file): downloaded but not valid JSON; delete it and rerun")
                }
            } else if file.hasSuffix(".safetensors") {
                do { _ = try SafeTensorsFile(path: url.path) } catch {
                    throw CLIError.runtime("\(error) Delete the file and rerun.")
                }
            }
        }
    }

    static func log(_ line: String) {
        FileHandle.standardError.write(Data((line + "\n").utf8))
    }
}

/// Shell-style matching of `*` and `?`.
func wildcardMatch(pattern: String, _ text: String) -> Bool {
    let p = Array(pattern), t = Array(text)
    var pi = 0, ti = 0, star = -1, mark = 0
    while ti < t.count {
        if pi < p.count && (p[pi] == "?" || p[pi] == t[ti]) {
            pi += 1; ti += 1
        } else if pi < p.count && p[pi] == "*" {
            star = pi; mark = ti; pi += 1
        } else if star >= 0 {
            pi = star + 1; mark += 1; ti = mark
        } else {
            return false
        }
    }
    while pi < p.count && p[pi] == "*" { pi += 1 }
    return pi == p.count
}
