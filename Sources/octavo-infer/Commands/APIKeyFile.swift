import Foundation

/// `serve --api-key-file FILE`: the accepted API keys, one per line. Blank lines and lines
/// starting with `#` are skipped, surrounding whitespace is trimmed. Errors name the file and
/// line, never a key.
enum APIKeyFile {
    static func load(_ path: String) throws -> [String] {
        guard let data = FileManager.default.contents(atPath: path) else {
            let reason = FileManager.default.fileExists(atPath: path) ? "this user cannot read it" : "no such file"
            throw CLIError.runtime("--api-key-file \(path): \(reason)")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw CLIError.runtime("--api-key-file \(path): not UTF-8 text")
        }
        var keys: [String] = []
        for (index, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = rawLine.trimmingCharacters(in: .whitespaces.union(CharacterSet(charactersIn: "\r")))
            if line.isEmpty || line.hasPrefix("#") { continue }
            guard !line.contains(where: { $0.isWhitespace || $0.asciiValue.map { $0 < 0x20 || $0 == 0x7F } == true })
            else {
                throw CLIError.runtime(
                    "--api-key-file \(path), line \(index + 1): a key may not contain spaces or "
                        + "control characters (one key per line)")
            }
            keys.append(line)
        }
        guard !keys.isEmpty else {
            // An empty file must not silently turn authentication off.
            throw CLIError.runtime(
                "--api-key-file \(path) holds no key: write one key per line (lines starting "
                    + "with # are comments)")
        }
        return keys
    }

    /// A warning when others than the owner may read the file, else nil.
    static func permissionWarning(_ path: String) -> String? {
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: path),
            let mode = (attributes[.posixPermissions] as? NSNumber)?.intValue, mode & 0o077 != 0
        else { return nil }
        return "warning: --api-key-file \(path) is readable by other users (mode \(String(mode, radix: 8))); chmod "
            + "600 it"
    }
}
