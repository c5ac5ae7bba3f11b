import Foundation

/// How to reach the hub and where its cache is: the environment huggingface_hub reads
/// (`HF_ENDPOINT`, `HF_TOKEN` or the token file, `HF_HUB_CACHE`/`HF_HOME`, `HF_HUB_OFFLINE`),
/// overridden by a command's options (`--endpoint`, `--token`, `--offline`, `--quiet`, `--timeout`).
struct HubConfiguration {
    var endpoint: URL
    var token: String?
    var cache: HubCache
    var offline: Bool
    var quiet: Bool
    var timeout: TimeInterval

    /// Flags every command that takes `--model` accepts (CommandLineArguments adds them).
    static let modelFlags: Set<String> = ["offline", "quiet"]

    init(_ arguments: CommandLineArguments, environment: [String: String] = ProcessInfo.processInfo.environment) throws
    {
        let endpointText =
            arguments.string("endpoint") ?? environment["HF_ENDPOINT"].flatMap { $0.isEmpty ? nil : $0 }
            ?? "https://huggingface.co"
        guard let endpoint = URL(string: endpointText), let scheme = endpoint.scheme,
            ["http", "https"].contains(scheme)
        else {
            throw CLIError.usage("endpoint '\(endpointText)' (--endpoint or HF_ENDPOINT) is not an http(s) URL")
        }
        self.endpoint = endpoint
        token = arguments.string("token") ?? Self.token(environment: environment)
        cache = HubCache(root: HubCache.location(environment: environment))
        offline = arguments.has("offline") || Self.isTrue(environment["HF_HUB_OFFLINE"])
        quiet = arguments.has("quiet")
        timeout = Double(try arguments.int("timeout") ?? 60)
    }

    var client: HubClient { HubClient(endpoint: endpoint, token: token, timeout: timeout) }

    func downloader() -> SnapshotDownloader {
        SnapshotDownloader(client: client, progress: DownloadProgress.forStandardError(quiet: quiet))
    }

    /// `HF_TOKEN`, else the file `huggingface-cli login` writes (`$HF_TOKEN_PATH`, else `$HF_HOME/token`).
    static func token(environment: [String: String]) -> String? {
        if let token = environment["HF_TOKEN"], !token.isEmpty { return token }
        let path =
            environment["HF_TOKEN_PATH"].flatMap { $0.isEmpty ? nil : ($0 as NSString).expandingTildeInPath }
            ?? HubCache.huggingFaceHome(environment: environment).appendingPathComponent("token").path
        guard let data = FileManager.default.contents(atPath: path) else { return nil }
        let token = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        return token.isEmpty ? nil : token
    }

    /// huggingface_hub's truthy values: 1, ON, YES, TRUE in any case.
    static func isTrue(_ value: String?) -> Bool {
        guard let value else { return false }
        return ["1", "on", "yes", "true"].contains(value.lowercased())
    }
}
