/// A small, strict parser for `--name value`, `--name=value`, boolean flags,
/// repeatable options and positionals. Unknown or malformed options are usage
/// errors (exit 2), never silently ignored.
struct CommandLineArguments {
    /// What a command accepts: option names taking a value, and flags.
    struct Spec {
        var options: Set<String> = []
        var repeatable: Set<String> = []
        var flags: Set<String> = []
        var allowsPositionals = false
    }

    /// `-m` is `--model`, `-p` is `--prompt`.
    static let shortForms = ["-m": "model", "-p": "prompt"]

    private(set) var values: [String: [String]] = [:]
    private(set) var flags: Set<String> = []
    private(set) var positionals: [String] = []

    init(_ arguments: [String], spec: Spec) throws {
        var spec = spec
        // A command that takes --model resolves it through the hub cache, whose flags it then takes too.
        if spec.options.contains("model") || spec.repeatable.contains("model") {
            spec.flags.formUnion(HubConfiguration.modelFlags)
        }
        var index = 0
        var onlyPositionals = false
        while index < arguments.count {
            var argument = arguments[index]
            index += 1
            // Short forms of the most used options, where the command has them.
            if !onlyPositionals, let long = Self.shortForms[argument],
                spec.options.contains(long) || spec.repeatable.contains(long)
            {
                argument = "--" + long
            }
            if onlyPositionals || !argument.hasPrefix("--") || argument == "-" {
                // A lone "-5" is a value (a negative id), not an option.
                guard spec.allowsPositionals else { throw CLIError.usage("unexpected argument '\(argument)'") }
                positionals.append(argument)
                continue
            }
            if argument == "--" {
                onlyPositionals = true
                continue
            }
            var name = String(argument.dropFirst(2))
            var inlineValue: String?
            if let equals = name.firstIndex(of: "=") {
                inlineValue = String(name[name.index(after: equals)...])
                name = String(name[..<equals])
            }
            if spec.flags.contains(name) {
                guard inlineValue == nil else { throw CLIError.usage("--\(name) takes no value") }
                flags.insert(name)
            } else if spec.options.contains(name) || spec.repeatable.contains(name) {
                let value: String
                if let inlineValue {
                    value = inlineValue
                } else {
                    guard index < arguments.count else { throw CLIError.usage("--\(name) needs a value") }
                    value = arguments[index]
                    index += 1
                }
                if values[name] != nil && !spec.repeatable.contains(name) {
                    throw CLIError.usage("--\(name) given twice")
                }
                values[name, default: []].append(value)
            } else {
                let known = (spec.options.union(spec.flags).union(spec.repeatable)).sorted()
                let suggestion = known.min { editDistance($0, name) < editDistance($1, name) }
                let hint = suggestion.map { editDistance($0, name) <= 3 ? " (did you mean --\($0)?)" : "" } ?? ""
                throw CLIError.usage("unknown option --\(name)\(hint)")
            }
        }
    }

    func has(_ flag: String) -> Bool { flags.contains(flag) }
    func string(_ name: String) -> String? { values[name]?.last }
    func strings(_ name: String) -> [String] { values[name] ?? [] }

    func int(_ name: String) throws -> Int? {
        guard let text = string(name) else { return nil }
        guard let value = Int(text) else { throw CLIError.usage("--\(name) expects an integer, got '\(text)'") }
        return value
    }

    func float(_ name: String) throws -> Float? {
        guard let text = string(name) else { return nil }
        guard let value = Float(text), value.isFinite else {
            throw CLIError.usage("--\(name) expects a number, got '\(text)'")
        }
        return value
    }

    func required(_ name: String) throws -> String {
        guard let value = string(name) else { throw CLIError.usage("--\(name) is required") }
        return value
    }
}

/// Levenshtein distance, for "did you mean" hints.
func editDistance(_ a: String, _ b: String) -> Int {
    let a = Array(a)
    let b = Array(b)
    var previous = Array(0...b.count)
    for i in 1...max(a.count, 1) where !a.isEmpty {
        var current = [i] + [Int](repeating: 0, count: b.count)
        for j in 1...max(b.count, 1) where !b.isEmpty {
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
        }
        previous = current
    }
    return a.isEmpty ? b.count : previous[b.count]
}
