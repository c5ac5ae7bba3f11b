import Foundation
import Tokenizer
import XCTest

@testable import InferenceServer
@testable import ServiceTestSupport

/// `octavo-infer serve` as a process: the start banner, JSON request logs, --chat-template.
final class ServeBannerAndLogTests: XCTestCase {
    func testBannerJSONLogsAndAChatTemplateFile() throws {
        let template = NSTemporaryDirectory() + "octavo-chat-\(UUID().uuidString).jinja"
        try "{% for m in messages %}<{{ m.role }}>{{ m.content }}{% endfor %}<assistant>"
            .write(toFile: template, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: template) }
        let server = try ServeProcess([
            "-m", "tiny=" + AppFixtures.tinyGPT2.path, "--port", "0", "--log-format", "json",
            "--chat-template", "tiny=" + template, "--api-key", "k",
        ])
        let port = try XCTUnwrap(server.mainPort(), server.stderr)
        XCTAssertTrue(server.waitFor("serve: ready\n"), server.stdout + server.stderr)
        let banner = server.stdout
        for expected in [
            "octavo-infer 0.", "model tiny: generation (gpt2), f32, 84.3K parameters",
            "chat template \(template)", "compute threads", "jobs: off", "API key required",
            "http://127.0.0.1:\(port)/v1 (OpenAI", "http://127.0.0.1:\(port)/ (the playground)",
        ] {
            XCTAssertTrue(banner.contains(expected), "'\(expected)' missing from:\n\(banner)")
        }

        let body = #"{"messages":[{"role":"user","content":"Hi"}],"max_tokens":2,"temperature":0}"#
        let response = try TestClient.request(
            port: port, "POST", "/v1/chat/completions",
            headers: [
                "Content-Type": "application/json", "Authorization": "Bearer k",
                "X-Request-Id": "chat-1",
            ], body: body)
        XCTAssertEqual(response.status, 200, response.text)
        let object = try XCTUnwrap((try? JSONSerialization.jsonObject(with: Data(response.body))) as? [String: Any])
        let tokenizer = try ByteLevelBPETokenizer.load(directory: AppFixtures.tinyGPT2)
        XCTAssertEqual(
            (object["usage"] as? [String: Int])?["prompt_tokens"], tokenizer.encode("<user>Hi<assistant>").count,
            "the prompt is the template file's rendering")

        let deadline = Date(timeIntervalSinceNow: 10)
        while !server.stderr.contains(#""request_id":"chat-1""#), Date() < deadline {
            Thread.sleep(forTimeInterval: 0.02)
        }
        let line = try XCTUnwrap(
            server.stderr.split(separator: "\n").first { $0.contains(#""request_id":"chat-1""#) },
            server.stderr)
        let logged = try XCTUnwrap((try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any])
        XCTAssertEqual(logged["model"] as? String, "tiny")
        XCTAssertEqual(logged["status"] as? Int, 200)
        XCTAssertEqual(logged["generated_tokens"] as? Int, 2)
        server.signal(SIGTERM)
        XCTAssertEqual(server.waitForExit(), 0)
    }

    func testABadChatTemplateStopsTheServerWithTheConstructNamed() throws {
        let template = NSTemporaryDirectory() + "octavo-chat-\(UUID().uuidString).jinja"
        try "{% for m in messages %}{{ m.content | upper }}{% endfor %}".write(
            toFile: template, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: template) }
        let server = try ServeProcess([
            "--model", "tiny=" + AppFixtures.tinyGPT2.path, "--port", "0",
            "--chat-template", "tiny=" + template,
        ])
        XCTAssertEqual(server.waitForExit(), 1)
        XCTAssertTrue(server.stderr.contains("the filter 'upper'"), server.stderr)
    }
}
