import Foundation

/// `serve --config FILE`: every `serve` option in one JSON object, keys named like the flags.
///
///     {
///       "model": {"story-small": "/models/story-small", "nllb": "/models/nllb-200-distilled-600M"},
///       "listen": {"4019": "story-small", "4020": "nllb"},
///       "host": "0.0.0.0", "port": 8080,
///       "api-key-file": "/etc/octavo-infer/api-keys", "cors-origin": ["https://app.example.com"],
///       "jobs-db": "/var/lib/octavo-infer/jobs.sqlite"
///     }
///
/// Values are strings or numbers; repeatable options take a list, and the `NAME=VALUE` ones
/// (`model`, `listen`, `story-variant`, `vocabulary-map`) also an object. An option given on the
/// command line replaces the file's (a list entirely). Unknown keys are errors, so a typo cannot
/// pass silently; relative paths are relative to the working directory, as on the command line.
enum ServeConfigFile {
    /// Options whose values are `NAME=VALUE` pairs, which the file may write as an object.
    static let pairOptions: Set<String> = ["model", "listen", "story-variant", "vocabulary-map"]

    /// `arguments` plus the options of its `--config` file that the command line does not give,
    /// and every problem found in the file (keys with problems are left out).
    static func merged(_ arguments: CommandLineArguments, spec: CommandLineArguments.Spec) throws
        -> (arguments: CommandLineArguments, problems: [String])
    {
        guard let path = arguments.string("config") else { return (arguments, []) }
        let (fileOptions, problems) = read(path, spec: spec)
        var tokens: [String] = []
        for (name, values) in fileOptions.sorted(by: { $0.key < $1.key }) where arguments.strings(name).isEmpty {
            tokens += values.map { "--\(name)=\($0)" }
        }
        for (name, values) in arguments.values.sorted(by: { $0.key < $1.key }) {
            tokens += values.map { "--\(name)=\($0)" }
        }
        tokens += arguments.flags.sorted().map { "--\($0)" }
        return (try CommandLineArguments(tokens, spec: spec), problems)
    }

    /// Every problem found in a file, one line each.
    struct Problems: Error {
        var lines: [String]
        var list: String {
            lines.count == 1
                ? lines[0] : "\(lines.count) problems:\n" + lines.map { "  - " + $0 }.joined(separator: "\n")
        }
    }

    /// The file's usable options by name, and every problem in it.
    static func read(_ path: String, spec: CommandLineArguments.Spec) -> ([String: [String]], [String]) {
        guard let data = FileManager.default.contents(atPath: path) else {
            return ([:], ["--config \(path): no such file, or this user cannot read it"])
        }
        return parse(data, source: path, spec: spec)
    }

    static func parse(_ data: Data, source: String, spec: CommandLineArguments.Spec) -> ([String: [String]], [String]) {
        let root: Any
        do {
            root = try JSONSerialization.jsonObject(with: data)
        } catch {
            return ([:], ["\(source): not valid JSON (\(Self.reason(error)))"])
        }
        guard let object = root as? [String: Any] else {
            return ([:], ["\(source): the top level must be a JSON object of serve options"])
        }
        let known = spec.options.union(spec.repeatable).subtracting(["config"])
        var options: [String: [String]] = [:]
        var problems: [String] = []
        for (key, value) in object.sorted(by: { $0.key < $1.key }) {
            guard known.contains(key) else {
                let suggestion = known.min { editDistance($0, key) < editDistance($1, key) }
                let hint = suggestion.flatMap { editDistance($0, key) <= 3 ? " (did you mean \"\($0)\"?)" : nil } ?? ""
                let why = key == "config" || spec.flags.contains(key) ? " (only on the command line)" : hint
                problems.append("\(source): unknown key \"\(key)\"\(why)")
                continue
            }
            do {
                options[key] = try values(of: value, key: key, repeatable: spec.repeatable.contains(key))
            } catch let problem as Problems {
                problems += problem.lines.map { "\(source): \($0)" }
            } catch {
                problems.append("\(source): \"\(key)\": \(error)")
            }
        }
        return (options, problems)
    }

    /// One key's value as the strings its flag would take.
    private static func values(of value: Any, key: String, repeatable: Bool) throws -> [String] {
        if repeatable, let list = value as? [Any] {
            return try list.map { try scalar($0, key: key) }
        }
        if pairOptions.contains(key), let pairs = value as? [String: Any] {
            return try pairs.sorted(by: { $0.key < $1.key }).map { name, value in
                "\(name)=\(try scalar(value, key: "\(key).\(name)"))"
            }
        }
        if value is [Any] || value is [String: Any] {
            let shape =
                pairOptions.contains(key)
                ? "a string, a list of \"NAME=VALUE\" strings or an object"
                : repeatable ? "a string or a list of strings" : "a string or a number"
            throw Problems(lines: ["\"\(key)\" must be \(shape)"])
        }
        return [try scalar(value, key: key)]
    }

    private static func scalar(_ value: Any, key: String) throws -> String {
        if let text = value as? String { return text }
        if let number = value as? NSNumber, String(cString: number.objCType) != "c" {
            return number.stringValue
        }
        let kind =
            value is NSNull
            ? "null (remove the key instead)" : value is NSNumber ? "a boolean" : "not a string or a number"
        throw Problems(lines: ["\"\(key)\" is \(kind)"])
    }

    private static func reason(_ error: Error) -> String {
        let nsError = error as NSError
        return (nsError.userInfo[NSDebugDescriptionErrorKey] as? String) ?? nsError.localizedDescription
    }
}
