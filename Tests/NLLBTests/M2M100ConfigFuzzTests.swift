import Foundation
import NLLB
import ReaderCorpus
import XCTest

/// M2M100's config.json mutated at random (seeded, bounded): loads or `M2M100Error`, never a crash.
final class M2M100ConfigFuzzTests: XCTestCase {
    func testMutatedConfigsLoadOrFailWithTypedErrors() throws {
        let tiny = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures/NLLB/tiny")
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("m2m-config-fuzz-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let seed = try Data(contentsOf: tiny.appendingPathComponent("config.json"))
        var mutator = TextMutator(seed: 24)
        var refused = 0
        for _ in 0..<1500 {
            try mutator.mutate(seed).write(to: folder.appendingPathComponent("config.json"))
            do {
                _ = try M2M100Config.load(directory: folder)
            } catch is M2M100Error {
                refused += 1
            } catch {
                XCTFail("untyped error \(type(of: error)): \(error)")
            }
        }
        XCTAssertGreaterThan(refused, 300)
    }
}
