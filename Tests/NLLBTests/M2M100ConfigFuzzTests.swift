import Foundation
import NLLB
import ReaderCorpus
import XCTest

/// M2M100's config.json mutated at random (seeded, bounded): loads or `M2M100Error`, never a crash.
final class M2M100ConfigFuzzTests: XCTestCase {
    func testMutatedConfigsLoadOrFailWithTypedErrors() throws {
        let tiny = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures/NLLB/tiny")
        let result = try fuzzFolderFile(
            "config.json", seed: Data(contentsOf: tiny.appendingPathComponent("config.json")),
            mutatorSeed: 24, iterations: 1500,
            load: { _ = try M2M100Config.load(directory: $0) }, isTyped: { $0 is M2M100Error })
        XCTAssertEqual(result.untyped, [])
        XCTAssertGreaterThan(result.refused, 300)
    }
}
