/// One `octavo-infer <command>`. Each command is an enum with static members
/// conforming to this protocol; `CommandEntry` erases it for the command table.
protocol Command {
    static var name: String { get }
    /// One line for the command list.
    static var summary: String { get }
    /// The whole `--help` text.
    static var help: String { get }
    static var spec: CommandLineArguments.Spec { get }
    static func run(_ arguments: CommandLineArguments) throws
}

/// A command as a value, so the table in main.swift is a plain array.
struct CommandEntry {
    let name: String
    let summary: String
    let help: String
    let spec: CommandLineArguments.Spec
    let run: (CommandLineArguments) throws -> Void

    init<C: Command>(_ command: C.Type) {
        name = C.name
        summary = C.summary
        help = C.help
        spec = C.spec
        run = C.run
    }
}
