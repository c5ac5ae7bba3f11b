import Foundation
import Generation
import GPT2
import ReaderCorpus
import XCTest

/// config.json and generation_config.json mutated at random (seeded, bounded): each either loads
/// or is refused with the reader's typed error; nothing crashes.
final class ConfigReaderFuzzTests: XCTestCase {
    static let tiny = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/GPT2/tiny")

    func testMutatedConfigsLoadOrFailWithTypedErrors() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("config-fuzz-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let seed = try Data(contentsOf: Self.tiny.appendingPathComponent("config.json"))
        var mutator = TextMutator(seed: 22)
        var refused = 0
        for _ in 0..<1500 {
            try mutator.mutate(seed).write(to: folder.appendingPathComponent("config.json"))
            do {
                _ = try GPT2Config.load(directory: folder)
            } catch is GPT2Error {
                refused += 1
            } catch {
                XCTFail("untyped error \(type(of: error)): \(error)")
            }
        }
        XCTAssertGreaterThan(refused, 300, "the mutations should break most files")
    }

    func testMutatedGenerationConfigsParseOrFailWithTypedErrors() throws {
        let seed = try Data(contentsOf: Self.tiny.appendingPathComponent("generation_config.json"))
        var mutator = TextMutator(seed: 23)
        var refused = 0
        for _ in 0..<3000 {
            do {
                _ = try GenerationConfigFile.parse(mutator.mutate(seed), path: "generation_config.json")
            } catch is GenerationError {
                refused += 1
            } catch {
                XCTFail("untyped error \(type(of: error)): \(error)")
            }
        }
        XCTAssertGreaterThan(refused, 500)
    }
}
