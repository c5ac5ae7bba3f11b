import Foundation
import HTTPServer
import InferenceServer
import JobStore
import Kernels
import ModelFactory
import Tensor

/// `serve`'s request-log and chat-template options, and the banner it prints once ready.
extension ServeCommand {
    /// `--log-format text|json|off` and `--chat-template NAME=FILE` into the configuration.
    static func applyLogAndChatOptions(
        _ arguments: CommandLineArguments, models: [ModelSpec],
        to configuration: inout ServerConfiguration
    ) throws {
        if let text = arguments.string("log-format") {
            guard let format = RequestLogFormat(rawValue: text) else {
                throw CLIError.usage("--log-format expects text, json or off, got '\(text)'")
            }
            configuration.requestLogFormat = format
        }
        for value in arguments.strings("chat-template") {
            guard let equals = value.firstIndex(of: "="), value.index(after: equals) != value.endIndex else {
                throw CLIError.usage("--chat-template expects NAME=FILE, got '\(value)'")
            }
            let name = String(value[..<equals])
            let path = String(value[value.index(after: equals)...])
            guard models.contains(where: { $0.name == name }) else {
                throw CLIError.usage("--chat-template \(value): no --model is named '\(name)'")
            }
            guard FileManager.default.isReadableFile(atPath: path) else {
                throw CLIError.runtime("--chat-template \(value): cannot read \(path)")
            }
            configuration.chatTemplateFiles[name] = path
        }
    }

    /// What is running and where, once every model is loaded:
    ///
    ///     octavo-infer 0.1.0, serving:
    ///       model story: generation (gpt2), int8, 124.4M parameters, ~ 163 MiB of weights, chat template plain
    ///       model nllb: translation (m2m_100), int8, 615.1M parameters, ~ 600 MiB of weights
    ///       process memory 801 MiB resident; 8 compute threads
    ///       jobs: /var/lib/octavo/jobs.sqlite; API key required
    ///       http://127.0.0.1:8080/v1 (OpenAI: /v1/chat/completions, /v1/completions), /health, /metrics
    ///       http://127.0.0.1:8080/ (the playground)
    ///
    /// Weight memory is the parameter count times the width of `--dtype` (f16/int8 keep
    /// embeddings and norms in f32, so it is an estimate, marked `~`).
    static func banner(
        version: String, app: ServerApp, models: [ModelSpec], precision: WeightPrecision,
        listeners: [Listener], configuration: ServerConfiguration
    ) -> [String] {
        var lines = ["octavo-infer \(version), serving:"]
        for spec in models {
            let kind: String
            var template = ""
            switch app.registry.entry(named: spec.name) {
            case .generation(let service)?:
                kind = "generation (\(service.architecture))"
                template = ", chat template \(service.chatTemplate.source)"
            case .translation?:
                kind = "translation (\((try? ArchitectureRegistry.modelType(of: spec.directory)) ?? "?"))"
            case nil:
                continue
            }
            var size = ""
            if let report = try? InspectCommand.inspect(spec.directory) {
                let width = precision == .f32 ? 4 : precision == .f16 ? 2 : 1
                size =
                    ", \(formatCount(report.parameters)) parameters, ~ "
                    + "\(formatBytes(report.parameters * width)) of weights"
            }
            lines.append("  model \(spec.name): \(kind), \(precision.rawValue)\(size)\(template)")
        }
        let resident = residentBytes().map { "process memory \(formatBytes($0)) resident; " } ?? ""
        lines.append("  \(resident)\(ComputePool.shared.threadCount) compute threads")
        let redis = configuration.jobsRedisURL.flatMap { try? RedisURL(parsing: $0) }
            .map { "jobs: \($0), lease \(Int(configuration.jobLease)) s" }
        let jobs =
            redis ?? configuration.jobsDatabasePath.map { "jobs: \($0)" } ?? "jobs: off (no --jobs-db or --jobs-redis)"
        lines.append("  \(jobs); API key \(configuration.apiKeys.isEmpty ? "not required" : "required")")
        for (index, listener) in listeners.enumerated() {
            let base = "http://\(listener.host):\(listener.port)"
            if index == 0 {
                lines.append(
                    "  \(base)/v1 (OpenAI: /v1/chat/completions, /v1/completions), \(base)/health, "
                        + "\(base)/metrics")
                lines.append("  \(base)/ (the playground)")
            } else {
                lines.append("  \(base) (default model \(listener.name ?? "?"))")
            }
        }
        return lines
    }

    /// Resident set size from /proc/self/statm (Linux), nil elsewhere.
    private static func residentBytes() -> Int? {
        guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return nil }
        let fields = text.split(separator: " ")
        guard fields.count > 1, let pages = Int(fields[1]) else { return nil }
        return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
    }
}
