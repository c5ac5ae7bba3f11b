import Foundation
import XCTest

@testable import ServiceTestSupport

/// `serve --draft` on the release binary: a draft that cannot work is a usage error (exit 2)
/// before the server binds its port, and a good one is named when its model is loaded.
final class ServeDraftOptionTests: XCTestCase {
    let gpt2 = "tiny=" + AppFixtures.tinyGPT2.path
    let nllb = AppFixtures.root.appendingPathComponent("NLLB/tiny").path

    /// Runs serve with `arguments`, expecting it to refuse them before it listens: exit 2 for a
    /// usage error, 1 for a folder that is not there (as for --model).
    private func refusedBeforeListening(_ arguments: [String], saying phrase: String, status: Int32 = 2) throws {
        let server = try ServeProcess(
            ["--port", "0"] + arguments, executable: try ServeProcess.releaseExecutable())
        XCTAssertEqual(server.waitForExit(timeout: 60), status, "\(arguments): \(server.stderr)")
        XCTAssertFalse(server.stdout.contains("listening on"), "bound before refusing: \(server.stdout)")
        XCTAssertTrue(server.stderr.contains(phrase), "\(arguments): \(server.stderr)")
    }

    func testAMissingDraftFolderIsRefusedBeforeListening() throws {
        try refusedBeforeListening(
            ["--model", gpt2, "--draft", "/nonexistent/draft-model"], saying: "--draft /nonexistent/draft-model: ",
            status: 1)
    }

    func testATranslationModelCannotDraft() throws {
        try refusedBeforeListening(["--model", gpt2, "--draft", nllb], saying: "--draft \(nllb)")
        try refusedBeforeListening(["--model", gpt2, "--draft", "ngram+" + nllb], saying: "--draft \(nllb)")
    }

    func testAModelFolderDraftWithOnlyTranslationModelsIsRefused() throws {
        try refusedBeforeListening(
            ["--model", "t=\(nllb)", "--draft", AppFixtures.tinyGPT2.path], saying: "every served model translates")
    }

    func testDraftValuesAreCheckedBeforeListening() throws {
        try refusedBeforeListening(
            ["--model", gpt2, "--draft", "ngram", "--draft-dtype", "int8"],
            saying: "--draft-dtype applies to a draft model")
        try refusedBeforeListening(
            ["--model", gpt2, "--draft", "ngram", "--draft-tokens", "40"],
            saying: "--draft-tokens must be between 1 and")
        try refusedBeforeListening(
            ["--model", gpt2, "--draft", "int8", "--draft-dtype", "f16"], saying: "already names the precision")
        try refusedBeforeListening(["--model", gpt2, "--draft-tokens", "3"], saying: "--draft-tokens needs --draft")
    }

    func testAGoodDraftIsNamedWhenEachModelLoadsAndTranslatesAsWithout() throws {
        func start(_ extra: [String]) throws -> (ServeProcess, Int) {
            let server = try ServeProcess(
                ["--model", gpt2, "--model", "t=\(nllb)", "--port", "0"] + extra,
                executable: try ServeProcess.releaseExecutable())
            let port = try XCTUnwrap(server.mainPort(), server.stderr)
            XCTAssertTrue(server.waitFor("ready"), server.stdout + server.stderr)
            return (server, port)
        }
        let (drafted, draftedPort) = try start(["--draft", "ngram+int8"])
        let (plain, plainPort) = try start([])
        XCTAssertTrue(drafted.stdout.contains("positions, draft ngram+int8,"), drafted.stdout)
        XCTAssertTrue(drafted.stdout.contains("languages, draft ngram+int8,"), drafted.stdout)
        // Greedy translations of the fixture's texts, all at once: the same with and without the draft.
        struct TextCase: Decodable {
            let text: String
            let target: String
        }
        struct File: Decodable { let text_cases: [TextCase] }
        let cases = try JSONDecoder().decode(
            File.self, from: Data(contentsOf: AppFixtures.root.appendingPathComponent("NLLB/tiny.reference.json"))
        ).text_cases
        for target in Set(cases.map(\.target)).sorted() {
            let body = try JSONSerialization.data(withJSONObject: [
                "model": "t", "texts": cases.filter { $0.target == target }.map(\.text), "target": target, "beams": 1,
                "max_tokens": 40,
            ])
            func translations(_ port: Int) throws -> [String]? {
                let response = try TestClient.request(
                    port: port, "POST", "/v1/translate", headers: ["Content-Type": "application/json"],
                    body: String(decoding: body, as: UTF8.self))
                XCTAssertEqual(response.status, 200, response.text)
                return (try JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any])?["translations"]
                    as? [String]
            }
            let expected = try translations(plainPort)
            XCTAssertNotNil(expected)
            XCTAssertEqual(try translations(draftedPort), expected, target)
        }
        for server in [drafted, plain] {
            server.signal(SIGTERM)
            XCTAssertEqual(server.waitForExit(), 0)
        }
    }

    func testCheckConfigReportsABadDraft() throws {
        let checker = try ServeProcess(
            ["--model", gpt2, "--draft", nllb, "--check-config"], executable: try ServeProcess.releaseExecutable())
        XCTAssertEqual(checker.waitForExit(timeout: 60), 2, checker.stderr)
        XCTAssertTrue(checker.stderr.contains("--draft \(nllb)"), checker.stderr)
        let good = try ServeProcess(
            ["--model", gpt2, "--draft", "int8", "--check-config"], executable: try ServeProcess.releaseExecutable())
        XCTAssertEqual(good.waitForExit(timeout: 60), 0, good.stderr)
    }
}
