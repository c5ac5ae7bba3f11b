import Foundation

/// Prints one JSON object on its own line (keys sorted, so outputs diff cleanly).
func printJSON<T: Encodable>(_ value: T) throws {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    encoder.nonConformingFloatEncodingStrategy = .convertToString(
        positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
    let data = try encoder.encode(value)
    FileHandle.standardOutput.write(data + Data("\n".utf8))
}

/// Writes text to stdout at once (no buffering), for streamed tokens.
func writeStdout(_ text: String) {
    guard !text.isEmpty else { return }
    FileHandle.standardOutput.write(Data(text.utf8))
}

/// Text from `--<textOption>`, `--<fileOption>`, or standard input when neither is given.
/// Standard input loses one final newline, as `$(...)` in a shell does: `echo hi | generate`
/// prompts with "hi", not "hi\n".
func readInputText(_ arguments: CommandLineArguments, textOption: String, fileOption: String) throws -> String {
    if let text = arguments.string(textOption) {
        guard arguments.string(fileOption) == nil else {
            throw CLIError.usage("give --\(textOption) or --\(fileOption), not both")
        }
        return text
    }
    if let path = arguments.string(fileOption) {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw CLIError.runtime("\(path): cannot read the file")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw CLIError.runtime("\(path): not valid UTF-8 text")
        }
        return text
    }
    if isatty(STDIN_FILENO) != 0 {
        throw CLIError.usage("no input: give --\(textOption), --\(fileOption), or pipe text on standard input")
    }
    return try readStandardInput()
}

/// All of standard input as UTF-8, without its final newline (`\n` or `\r\n`).
func readStandardInput() throws -> String {
    let data = FileHandle.standardInput.readDataToEndOfFile()
    guard var text = String(data: data, encoding: .utf8) else {
        throw CLIError.runtime("standard input is not valid UTF-8 text")
    }
    if text.hasSuffix("\n") { text.removeLast() }  // "\r\n" is one Character: both go
    return text
}

/// `\n`, `\t`, `\r` and `\\` in a command-line value become the characters they name, so
/// `--stop "\n\n"` stops at a blank line; any other backslash is kept as it is.
func unescapeCommandLineText(_ text: String) -> String {
    var out = ""
    var characters = text.makeIterator()
    while let c = characters.next() {
        guard c == "\\" else {
            out.append(c)
            continue
        }
        switch characters.next() {
        case "n"?: out.append("\n")
        case "t"?: out.append("\t")
        case "r"?: out.append("\r")
        case "\\"?: out.append("\\")
        case let other?:
            out.append("\\")
            out.append(other)
        case nil: out.append("\\")
        }
    }
    return out
}

/// The folder `--model` names: a folder, a hub id or a catalog name (see ModelResolver),
/// noting on stderr when its weights are `.bin` files.
func modelDirectory(_ arguments: CommandLineArguments, loadsWeights: Bool = true) throws -> URL {
    let directory = try ModelResolver(arguments).resolve(try arguments.required("model"))
    if loadsWeights { notePyTorchWeights(in: directory) }
    return directory
}
