import Foundation

/// The committed tiny fixtures, one folder per key layout the tables read.
enum FactoryFixtures {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures")

    static func folder(_ path: String) -> URL { root.appendingPathComponent(path) }

    /// The tiny folder each registered model_type is checked against.
    static let tinyFolderByModelType = ["gpt2": folder("GPT2/tiny"), "m2m_100": folder("NLLB/tiny")]

    /// A fresh folder holding just `config`, deleted by the caller.
    static func folder(withConfig config: String) throws -> URL {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("factory-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        try config.write(to: folder.appendingPathComponent("config.json"), atomically: true, encoding: .utf8)
        return folder
    }
}
