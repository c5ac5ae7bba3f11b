import Foundation
import XCTest

/// The damaged checkpoints of issue 22, which `generate` used to load at shifted offsets and
/// run with exit 0: each must now exit 1 with one line naming the file and the fault.
final class DamagedWeightsTests: XCTestCase {
    var folder: URL!

    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("cli-damaged-\(UUID().uuidString)")
        try FileManager.default.copyItem(at: CLI.fixtures.appendingPathComponent("GPT2/tiny-f16"), to: folder)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: folder) }

    var weights: URL { folder.appendingPathComponent("model.safetensors") }

    func assertRefused(_ data: Data, containing text: String, file: StaticString = #filePath, line: UInt = #line) throws
    {
        try data.write(to: weights)
        let result = try CLI.run(["generate", "--model", folder.path, "--prompt", "Hi", "--max-new-tokens", "3"])
        XCTAssertEqual(result.status, 1, "stdout: \(result.stdout) stderr: \(result.stderr)", file: file, line: line)
        XCTAssertTrue(result.stderr.contains("model.safetensors"), result.stderr, file: file, line: line)
        XCTAssertTrue(
            result.stderr.contains(text), "stderr should mention \(text): \(result.stderr)", file: file, line: line)
        XCTAssertEqual(result.stderr.filter { $0 == "\n" }.count, 1, result.stderr, file: file, line: line)
    }

    func testAHeaderLengthOneToEightBytesShortIsRefused() throws {
        let original = try Data(contentsOf: weights)
        let length = original.prefix(8).enumerated().reduce(UInt64(0)) {
            $0 | UInt64($1.element) << (8 * UInt64($1.offset))
        }
        for shorter in 1...8 {
            var data = original
            withUnsafeBytes(of: (length - UInt64(shorter)).littleEndian) { data.replaceSubrange(0..<8, with: $0) }
            // 1 or 2 bytes short still parses (the header ends in two spaces of padding): the
            // data area is then 1 or 2 bytes longer than the tensors cover.
            try assertRefused(data, containing: shorter <= 2 ? "MetadataIncompleteBuffer" : "not valid")
        }
    }

    func testADTypeEditedInPlaceIsRefused() throws {
        var data = try Data(contentsOf: weights)
        let range = try XCTUnwrap(data.range(of: Data(#""F16""#.utf8)))
        data.replaceSubrange(range, with: Data(#""BF16""#.utf8))
        try assertRefused(data, containing: "MetadataIncompleteBuffer")
    }

    func testATensorTheModelNeedsInADTypeWeDoNotWidenIsRefusedAsUnsupported() throws {
        // I16 has F16's size, so the file stays valid (the safetensors library opens it).
        var data = try Data(contentsOf: weights)
        let range = try XCTUnwrap(data.range(of: Data(#""dtype":"F16""#.utf8)))
        data.replaceSubrange(range, with: Data(#""dtype":"I16""#.utf8))
        try assertRefused(data, containing: "deliberately supports only F32, F16 and BF16")
    }
}
