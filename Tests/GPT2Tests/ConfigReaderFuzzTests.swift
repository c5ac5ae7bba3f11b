import Foundation
import GPT2
import Generation
import ReaderCorpus
import XCTest

/// config.json and generation_config.json mutated at random (seeded, bounded): each either loads
/// or is refused with the reader's typed error; nothing crashes.
final class ConfigReaderFuzzTests: XCTestCase {
    static let tiny = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/GPT2/tiny")

    func testMutatedConfigsLoadOrFailWithTypedErrors() throws {
        let result = try fuzzFolderFile(
            "config.json", seed: Data(contentsOf: Self.tiny.appendingPathComponent("config.json")),
            mutatorSeed: 22, iterations: 1500,
            load: { _ = try GPT2Config.load(directory: $0) }, isTyped: { $0 is GPT2Error })
        XCTAssertEqual(result.untyped, [])
        XCTAssertGreaterThan(result.refused, 300, "the mutations should break most files")
    }

    func testMutatedGenerationConfigsParseOrFailWithTypedErrors() throws {
        let seed = try Data(contentsOf: Self.tiny.appendingPathComponent("generation_config.json"))
        let result = try fuzzFolderFile(
            "generation_config.json", seed: seed, mutatorSeed: 23, iterations: 3000,
            load: { _ = try GenerationConfigFile.load(directory: $0) },
            isTyped: { $0 is GenerationError })
        XCTAssertEqual(result.untyped, [])
        XCTAssertGreaterThan(result.refused, 500)
    }
}
