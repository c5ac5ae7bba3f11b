import Foundation
import XCTest

@testable import InferenceServer
@testable import ServiceTestSupport

/// Runs `Tests/OpenAIClient/check_openai_client.py` (the official `openai` Python client)
/// against an in-process server. Skipped when the package is not importable, unless
/// `OCTAVO_REQUIRE_OPENAI_CLIENT=1` (CI sets it), which makes that a failure.
/// `OCTAVO_PYTHON` chooses the interpreter (default `python3`).
final class OpenAIClientTests: AppTestCase {
    static let script = AppFixtures.root.deletingLastPathComponent().appendingPathComponent(
        "OpenAIClient/check_openai_client.py")

    func testTheOfficialClientWorksAgainstTheServer() throws {
        let environment = ProcessInfo.processInfo.environment
        let python = environment["OCTAVO_PYTHON"] ?? "python3"
        let required = environment["OCTAVO_REQUIRE_OPENAI_CLIENT"] == "1"
        let probe = try Self.run(python, ["-c", "import openai"])
        if probe.status != 0 {
            let message = "the openai package is not importable by \(python): \(probe.output)"
            if required { return XCTFail(message + " (OCTAVO_REQUIRE_OPENAI_CLIENT=1)") }
            throw XCTSkip(message)
        }
        try startApp { $0.apiKeys = ["test-key"] }
        let result = try Self.run(python, [Self.script.path, "http://127.0.0.1:\(port)/v1", "test-key", "tiny"])
        XCTAssertEqual(result.status, 0, result.output)
        XCTAssertTrue(result.output.contains("openai client checks passed"), result.output)
    }

    static func run(_ executable: String, _ arguments: [String]) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [executable] + arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }
}
