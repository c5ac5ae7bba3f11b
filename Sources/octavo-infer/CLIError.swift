/// How a command fails: usage errors exit 2, everything else 1, each with one line on stderr.
enum CLIError: Error, CustomStringConvertible {
    case usage(String)
    case runtime(String)

    var description: String {
        switch self {
        case .usage(let message), .runtime(let message): return message
        }
    }

    var exitCode: Int32 {
        switch self {
        case .usage: return 2
        case .runtime: return 1
        }
    }
}
