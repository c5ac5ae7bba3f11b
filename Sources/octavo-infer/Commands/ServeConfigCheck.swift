import Foundation
import InferenceServer
import ModelFactory

/// `serve --check-config`: validates the options and the `--config` file without serving —
/// every option's value, each model folder and its config.json, the vocabulary maps, the API key
/// file, the job database's folder — and reports every problem at once (exit 2), or a summary of
/// what would be served (exit 0).
enum ServeConfigCheck {
    static func run(_ arguments: CommandLineArguments, fileProblems: [String] = []) throws {
        var problems = fileProblems
        func check(_ step: () throws -> Void) {
            do { try step() } catch { problems.append("\(error)") }
        }
        let values = arguments.strings("model")
        if values.isEmpty { problems.append("give at least one --model NAME=DIR") }
        // One model at a time, so each bad folder is reported.
        var loadable: [String] = []
        for value in values {
            check {
                let one = try CommandLineArguments(["--model=\(value)"], spec: ServeCommand.spec)
                guard let model = try ServeCommand.modelSpecs(one).first else { return }
                do {
                    _ = try ModelFolder.architecture(of: model.directory)
                } catch let error as ModelFactoryError {
                    throw CLIError.runtime("--model \(value): \(error)")
                }
                loadable.append(model.name)
            }
        }
        if loadable.count == values.count, !values.isEmpty {
            check { _ = try ServeCommand.modelSpecs(arguments) }  // names used twice
            check { _ = try ServeCommand.draftRequest(arguments, models: try ServeCommand.modelSpecs(arguments)) }
        } else {
            check { _ = try DraftRequest.parse(arguments) }
        }
        // Later checks see every named model, loadable or not, so one bad folder is reported once.
        let named = values.compactMap { value in value.firstIndex(of: "=").map { String(value[..<$0]) } }
        let models = named.map { ServeCommand.ModelSpec(name: $0, directory: URL(fileURLWithPath: "/")) }
        check { _ = try ServeCommand.storyVariants(arguments, models: models) }
        check {
            for (name, url) in try ServeCommand.vocabularyMaps(arguments, models: models)
            where !FileManager.default.isReadableFile(atPath: url.path) {
                throw CLIError.runtime(
                    "--vocabulary-map \(name)=\(url.path): no such file, or this user cannot "
                        + "read it")
            }
        }
        let (configuration, optionProblems) = ServeCommand.checkedServerConfiguration(arguments, modelNames: named)
        problems += optionProblems.map { "\($0)" }
        check { _ = try GenerateCommand.precisionOption(arguments) }
        check { _ = try GenerateCommand.cachePrecisionOption(arguments) }
        check {
            if let threads = try arguments.int("threads"), !(1...256).contains(threads) {
                throw CLIError.usage("--threads must be between 1 and 256")
            }
        }
        if let path = arguments.string("jobs-db") {
            let folder = URL(fileURLWithPath: path).deletingLastPathComponent().path
            var isDirectory: ObjCBool = false
            if !FileManager.default.fileExists(atPath: folder, isDirectory: &isDirectory) || !isDirectory.boolValue {
                problems.append("--jobs-db \(path): the folder \(folder) does not exist")
            } else if !FileManager.default.isWritableFile(atPath: folder) {
                problems.append(
                    "--jobs-db \(path): this user cannot create files in \(folder) (SQLite needs -wal "
                        + "and -shm files there)")
            }
        }
        guard problems.isEmpty else {
            let list =
                problems.count == 1
                ? problems[0]
                : "\(problems.count) problems:\n" + problems.map { "  - " + $0 }.joined(separator: "\n")
            throw CLIError.usage("--check-config: " + list)
        }
        let ports = [String(configuration.port)] + configuration.extraListeners.map { "\($0.port) (\($0.model))" }
        let cors = configuration.corsOrigins.isEmpty ? "off" : configuration.corsOrigins.joined(separator: ", ")
        ServeCommand.say(
            "configuration OK: \(values.count) model\(values.count == 1 ? "" : "s") "
                + "(\(named.joined(separator: ", "))), "
                + "ports \(ports.joined(separator: ", ")) on \(configuration.host), "
                + "\(configuration.apiKeys.count) API key\(configuration.apiKeys.count == 1 ? "" : "s"), "
                + "CORS \(cors), "
                + "jobs \(configuration.jobsDatabasePath ?? "off")")
    }
}
