import Foundation
import XCTest

@testable import InferenceServer
@testable import ServiceTestSupport

/// `serve --config`, `--check-config`, `--api-key-file` reloaded on SIGHUP, and the access options
/// on the real binary.
final class ServeConfigTests: XCTestCase {
    var folder: URL!

    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("octavo-config-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    }

    override func tearDown() {
        try? FileManager.default.removeItem(at: folder)
    }

    var tiny: String { AppFixtures.tinyGPT2.path }

    @discardableResult
    func write(_ name: String, _ text: String) throws -> String {
        let path = folder.appendingPathComponent(name).path
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    func testCheckConfigReportsEveryProblemAndExits2() throws {
        let broken = folder.appendingPathComponent("broken-model")
        try FileManager.default.createDirectory(at: broken, withIntermediateDirectories: true)
        try "{\"model_type\": ".write(
            to: broken.appendingPathComponent("config.json"), atomically: true, encoding: .utf8)
        let config = try write(
            "bad.json",
            """
            {"model": {"tiny": "\(tiny)", "gone": "/nonexistent/model", "broken": "\(broken.path)"},
             "prot": 8080, "max-batch": 0, "listen": {"4019": "tiny", "4020": "missing"},
             "cors-origin": "evil.example", "api-key-file": "/nonexistent/keys", "grace-period": true,
             "jobs-db": "/nonexistent/jobs.sqlite"}
            """)
        let (status, _, errors) = try run(["--config", config, "--check-config"])
        XCTAssertEqual(status, 2, errors)
        for fragment in [
            "unknown key \"prot\" (did you mean \"port\"?)", "/nonexistent/model: no such folder",
            "broken-model/config.json: not a JSON object", "--listen 4020=missing: no --model is named 'missing'",
            "--cors-origin 'evil.example' is not an origin", "--api-key-file /nonexistent/keys: no such file",
            "\"grace-period\" is a boolean", "--max-batch must be between 1 and 256",
            "--jobs-db /nonexistent/jobs.sqlite: the folder /nonexistent does not exist", "9 problems",
        ] {
            XCTAssertTrue(errors.contains(fragment), "missing '\(fragment)' in:\n\(errors)")
        }
        // The same file without --check-config is refused before anything listens.
        let (serveStatus, serveOutput, serveErrors) = try run(["--config", config])
        XCTAssertEqual(serveStatus, 2, serveErrors)
        XCTAssertFalse(serveOutput.contains("listening"), serveOutput)
    }

    func testCheckConfigPassesAndFlagsOverrideTheFile() throws {
        let keys = try write("keys", "# operators\nkey-one\n")
        let config = try write(
            "good.json",
            """
            {"model": ["tiny=\(tiny)"], "port": 99999, "max-batch": 0, "api-key-file": "\(keys)",
             "cors-origin": ["http://localhost:3000"], "grace-period": 2.5, "allowed-host": "api.example.com"}
            """)
        let (failed, _, failure) = try run(["--config", config, "--check-config"])
        XCTAssertEqual(failed, 2)
        XCTAssertTrue(
            failure.contains("--port must be between 0 and 65535") && failure.contains("--max-batch"), failure)
        let (status, output, errors) = try run([
            "--config", config, "--check-config", "--port", "0", "--max-batch", "2",
        ])
        XCTAssertEqual(status, 0, errors)
        XCTAssertTrue(
            output.contains(
                "configuration OK: 1 model (tiny), ports 0 on 127.0.0.1, 1 API key, CORS "
                    + "http://localhost:3000"),
            output)
    }

    func testServesFromTheConfigFileWithCORSAndHostChecks() throws {
        let extra = try freeLoopbackPort()
        let config = try write(
            "serve.json",
            """
            {"model": {"tiny": "\(tiny)"}, "listen": {"\(extra)": "tiny"}, "api-key": "sekrit",
             "cors-origin": ["https://app.example"], "allowed-host": ["api.example.com"], "port": 1}
            """)
        let server = try ServeProcess(["--config", config, "--port", "0"])
        let port = try XCTUnwrap(server.mainPort(), server.stderr)
        XCTAssertTrue(server.waitFor("ready"), server.stdout + server.stderr)
        XCTAssertTrue(server.stdout.contains("listening on http://127.0.0.1:\(extra) (tiny)"), server.stdout)
        let preflight = try TestClient.request(
            port: port, "OPTIONS", "/v1/completions",
            headers: ["Origin": "https://app.example", "Access-Control-Request-Method": "POST"])
        XCTAssertEqual(preflight.status, 204)
        XCTAssertEqual(preflight.headers["Access-Control-Allow-Origin"], "https://app.example")
        let foreign = try TestClient.request(
            port: port, "OPTIONS", "/v1/completions",
            headers: ["Origin": "https://evil.example", "Access-Control-Request-Method": "POST"])
        XCTAssertEqual(foreign.status, 403)
        XCTAssertEqual(try hostRequest(port: port, host: "evil.example", key: "sekrit").status, 421)
        XCTAssertEqual(try hostRequest(port: port, host: "api.example.com", key: "sekrit").status, 200)
        server.signal(SIGTERM)
        XCTAssertEqual(server.waitForExit(), 0, server.stderr)
    }

    func testAPIKeyFileIsReloadedOnSIGHUPAndKeysAreNeverPrinted() throws {
        let keys = try write("api-keys", "# two keys\nkey-one-4f1c\n\n  key-two-9a7e  \n")
        let server = try ServeProcess(["--model", "tiny=\(tiny)", "--port", "0", "--api-key-file", keys])
        let port = try XCTUnwrap(server.mainPort(), server.stderr)
        XCTAssertTrue(server.waitFor("ready"), server.stdout + server.stderr)
        func status(_ key: String) throws -> Int {
            try TestClient.request(port: port, "/v1/models", headers: ["Authorization": "Bearer \(key)"]).status
        }
        XCTAssertEqual(try status("key-one-4f1c"), 200)
        XCTAssertEqual(try status("key-two-9a7e"), 200)
        XCTAssertEqual(try status("key-three-0b2d"), 401)

        try write("api-keys", "key-three-0b2d\n")
        server.signal(SIGHUP)
        XCTAssertTrue(server.waitFor("reloaded 1 API key from"), server.stdout + server.stderr)
        XCTAssertEqual(try status("key-one-4f1c"), 401)
        XCTAssertEqual(try status("key-three-0b2d"), 200)

        // A file emptied by mistake keeps the keys in force rather than opening the server.
        try write("api-keys", "# nothing yet\n")
        server.signal(SIGHUP)
        XCTAssertTrue(server.waitFor("kept the previous API keys"), server.stdout + server.stderr)
        XCTAssertEqual(try status("key-three-0b2d"), 200)
        XCTAssertEqual(try TestClient.request(port: port, "/v1/models").status, 401)

        server.signal(SIGTERM)
        XCTAssertEqual(server.waitForExit(), 0, server.stderr)
        let everything = server.stdout + server.stderr
        for key in ["key-one-4f1c", "key-two-9a7e", "key-three-0b2d"] {
            XCTAssertFalse(everything.contains(key), "a key was printed:\n\(everything)")
        }
    }

    func testAnEmptyKeyFileIsAStartupError() throws {
        let keys = try write("empty-keys", "\n# no key\n")
        let (status, output, errors) = try run(["--model", "tiny=\(tiny)", "--port", "0", "--api-key-file", keys])
        XCTAssertEqual(status, 1, errors)
        XCTAssertTrue(errors.contains("holds no key"), errors)
        XCTAssertFalse(output.contains("listening"), output)
    }

    // MARK: Helpers

    /// Runs `serve` to completion: exit status, stdout, stderr.
    func run(_ arguments: [String]) throws -> (Int32, String, String) {
        let process = try ServeProcess(arguments)
        let status = try XCTUnwrap(process.waitForExit(timeout: 60), "serve \(arguments) did not exit")
        Thread.sleep(forTimeInterval: 0.2)  // the pipes' last bytes
        return (status, process.stdout, process.stderr)
    }

    func hostRequest(port: Int, host: String, key: String) throws -> TestResponse {
        let client = try TestClient(port: port)
        client.send(
            "GET /v1/models HTTP/1.1\r\nHost: \(host)\r\nAuthorization: Bearer \(key)\r\nConnection: "
                + "close\r\n\r\n")
        return try client.readResponse()
    }
}
