import Foundation

/// Prints one JSON object on its own line (keys sorted, so outputs diff cleanly).
func printJSON<T: Encodable>(_ value: T) throws {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
    let data = try encoder.encode(value)
    FileHandle.standardOutput.write(data + Data("\n".utf8))
}

/// Writes text to stdout at once (no buffering), for streamed tokens.
func writeStdout(_ text: String) {
    guard !text.isEmpty else { return }
    FileHandle.standardOutput.write(Data(text.utf8))
}

/// Text from `--<textOption>`, `--<fileOption>`, or standard input when neither is given.
func readInputText(_ arguments: CommandLineArguments, textOption: String, fileOption: String) throws -> String {
    if let text = arguments.string(textOption) {
        guard arguments.string(fileOption) == nil else { throw CLIError.usage("give --\(textOption) or --\(fileOption), not both") }
        return text
    }
    if let path = arguments.string(fileOption) {
        guard let data = FileManager.default.contents(atPath: path) else { throw CLIError.runtime("\(path): cannot read the file") }
        guard let text = String(data: data, encoding: .utf8) else { throw CLIError.runtime("\(path): not valid UTF-8 text") }
        return text
    }
    if isatty(STDIN_FILENO) != 0 {
        throw CLIError.usage("no input: give --\(textOption), --\(fileOption), or pipe text on standard input")
    }
    let data = FileHandle.standardInput.readDataToEndOfFile()
    guard let text = String(data: data, encoding: .utf8) else { throw CLIError.runtime("standard input is not valid UTF-8 text") }
    return text
}

/// The folder `--model` names: a folder, a hub id or a catalog name (see ModelResolver).
func modelDirectory(_ arguments: CommandLineArguments) throws -> URL {
    try ModelResolver(arguments).resolve(try arguments.required("model"))
}
