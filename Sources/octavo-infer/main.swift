import Foundation

/// Every command, in the order `--help` lists them.
let commands: [CommandEntry] = [
    CommandEntry(GenerateCommand.self),
    CommandEntry(TranslateCommand.self),
    CommandEntry(StoryCommand.self),
    CommandEntry(LanguagesCommand.self),
    CommandEntry(TokenizeCommand.self),
    CommandEntry(DetokenizeCommand.self),
    CommandEntry(InspectCommand.self),
    CommandEntry(ServeCommand.self),
    CommandEntry(DownloadCommand.self),
    CommandEntry(ListCommand.self),
    CommandEntry(RemoveCommand.self),
    CommandEntry(ModelsCommand.self),
    CommandEntry(BenchCommand.self),
    CommandEntry(QuantizeCommand.self),
    CommandEntry(ConvertCommand.self),
]

let version = "0.1.0"

@MainActor func topLevelHelp() -> String {
    let width = commands.map { $0.name.count }.max() ?? 0
    let list = commands.map { "  " + $0.name.padding(toLength: width + 2, withPad: " ", startingAt: 0) + $0.summary }
    return """
        octavo-infer \(version): local GPT-2 and NLLB-200 inference in Swift.

        Usage: octavo-infer <command> [options]

        Commands:
        \(list.joined(separator: "\n"))

        --model takes a model folder, a hub id (owner/name[@revision]) or a catalog name
        ('octavo-infer models'); hub models come from the Hugging Face cache, downloaded on first
        use unless --offline or HF_HUB_OFFLINE=1 (--quiet hides the progress).

        Run 'octavo-infer <command> --help' for a command's options; 'octavo-infer -V' (--version)
        prints the version.
        """
}

@MainActor func runCommandLine(_ argv: [String]) -> Int32 {
    guard let first = argv.first else {
        FileHandle.standardError.write(Data((topLevelHelp() + "\n").utf8))
        return 2
    }
    if first == "--help" || first == "-h" || first == "help" {
        print(topLevelHelp())
        return 0
    }
    if first == "--version" || first == "-V" {
        print("octavo-infer \(version)")
        return 0
    }
    guard let command = commands.first(where: { $0.name == first }) else {
        let suggestion = commands.map(\.name).min { editDistance($0, first) < editDistance($1, first) }
        var message = "octavo-infer: unknown command '\(first)'."
        if let suggestion, editDistance(suggestion, first) <= 3 { message += " Did you mean '\(suggestion)'?" }
        FileHandle.standardError.write(Data((message + " Run 'octavo-infer --help' for the list.\n").utf8))
        return 2
    }
    let rest = Array(argv.dropFirst())
    if rest.contains("--help") || rest.contains("-h") {
        print(command.help)
        return 0
    }
    do {
        try command.run(CommandLineArguments(rest, spec: command.spec))
        return 0
    } catch let error as CLIError {
        var line = "octavo-infer \(command.name): \(error)"
        if case .usage = error { line += " (see 'octavo-infer \(command.name) --help')" }
        FileHandle.standardError.write(Data((line + "\n").utf8))
        return error.exitCode
    } catch {
        FileHandle.standardError.write(Data("octavo-infer \(command.name): \(error)\n".utf8))
        return 1
    }
}

exit(runCommandLine(Array(CommandLine.arguments.dropFirst())))
