import Foundation
import HTTPServer
import InferenceServer

/// `serve`'s access options: API keys (`--api-key`, `OCTAVO_API_KEY`, `--api-key-file`),
/// `--cors-origin` and `--allowed-host`.
extension ServeCommand {
    /// Every accepted key: the single `--api-key` (or `OCTAVO_API_KEY`) and the key file's.
    static func apiKeys(_ arguments: CommandLineArguments) throws -> [String] {
        var keys = fixedAPIKeys(arguments)
        if let path = arguments.string("api-key-file") { keys += try APIKeyFile.load(path) }
        return keys
    }

    /// The keys that do not come from the reloadable file.
    static func fixedAPIKeys(_ arguments: CommandLineArguments) -> [String] {
        guard let key = arguments.string("api-key") ?? ProcessInfo.processInfo.environment["OCTAVO_API_KEY"],
            !key.isEmpty
        else {
            return []
        }
        return [key]
    }

    /// What SIGHUP does: re-reads `--api-key-file` into `keys`, keeping the old keys when the file
    /// is unreadable or empty (a half-written file must not lock everyone out or open the server).
    /// Nil without a key file: SIGHUP is then ignored.
    static func apiKeyReloader(_ arguments: CommandLineArguments, keys: APIKeyRing) -> (@Sendable () -> Void)? {
        guard let path = arguments.string("api-key-file") else { return nil }
        if let warning = APIKeyFile.permissionWarning(path) { say(warning) }
        let fixed = fixedAPIKeys(arguments)
        return {
            do {
                let loaded = try APIKeyFile.load(path)
                keys.replace(with: fixed + loaded)
                say("SIGHUP: reloaded \(loaded.count) API key\(loaded.count == 1 ? "" : "s") from \(path)")
            } catch {
                say("SIGHUP: kept the previous API keys: \(error)")
            }
        }
    }

    static func corsOrigins(_ arguments: CommandLineArguments) throws -> [String] {
        let origins = arguments.strings("cors-origin")
        for origin in origins {
            if let problem = AllowedOrigins.problem(with: origin) { throw CLIError.usage("--cors-origin \(problem)") }
        }
        return origins
    }

    static func allowedHosts(_ arguments: CommandLineArguments) throws -> [String] {
        let hosts = arguments.strings("allowed-host")
        for host in hosts where host.isEmpty || host.contains(where: { $0.isWhitespace || "/:@[]".contains($0) }) {
            throw CLIError.usage(
                "--allowed-host expects a host name such as api.example.com (no scheme, port or "
                    + "path), got '\(host)'")
        }
        return hosts
    }
}
