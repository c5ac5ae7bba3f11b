import Foundation
import XCTest

@testable import InferenceServer
@testable import ServiceTestSupport

/// The files in deploy/ run what they say: the systemd unit's ExecStart and the compose
/// service's command start the server on the example config (tiny model, temporary paths and
/// ports substituted), the Docker HEALTHCHECK command probes /health, the unit passes
/// `systemd-analyze verify`, and nginx balances two servers with the example nginx.conf.
/// Docker itself cannot run here (no daemon): the images are not built by the tests.
final class DeployKitTests: XCTestCase {
    static let deploy = AppFixtures.root.deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent(
        "deploy")
    var folder: URL!

    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("octavo-deploy-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    }

    override func tearDown() {
        try? FileManager.default.removeItem(at: folder)
    }

    func text(_ name: String) throws -> String {
        try String(contentsOf: Self.deploy.appendingPathComponent(name), encoding: .utf8)
    }

    /// deploy/config.example.json with the tiny models, free ports and temporary paths; returns
    /// its path and the ports (main first).
    func exampleConfig() throws -> (path: String, ports: [Int]) {
        var object = try XCTUnwrap(
            JSONSerialization.jsonObject(with: Data(try text("config.example.json").utf8)) as? [String: Any])
        let models = try XCTUnwrap(object["model"] as? [String: String])
        object["model"] = Dictionary(
            uniqueKeysWithValues: models.keys.map { name in
                (name, AppFixtures.root.appendingPathComponent(name == "nllb" ? "NLLB/tiny" : "GPT2/tiny").path)
            })
        let main = try freeLoopbackPort()
        var ports = [main]
        var listeners: [String: String] = [:]
        for (port, model) in try XCTUnwrap(object["listen"] as? [String: String]).sorted(by: { $0.key < $1.key }) {
            XCTAssertTrue(["4019", "4020", "4021"].contains(port))
            let free = try freeLoopbackPort()
            ports.append(free)
            listeners[String(free)] = model
        }
        object["listen"] = listeners
        object["port"] = main
        let keys = folder.appendingPathComponent("api-keys")
        try "deploy-test-key\n".write(to: keys, atomically: true, encoding: .utf8)
        object["api-key-file"] = keys.path
        object["jobs-db"] = folder.appendingPathComponent("jobs.sqlite").path
        let path = folder.appendingPathComponent("config.json").path
        try JSONSerialization.data(withJSONObject: object).write(to: URL(fileURLWithPath: path))
        return (path, ports)
    }

    /// `octavo-infer serve ...` with the example config path and binary replaced.
    func serveArguments(_ command: [String], config: String) throws -> [String] {
        XCTAssertEqual(command.first.map { URL(fileURLWithPath: $0).lastPathComponent }, "octavo-infer", "\(command)")
        XCTAssertEqual(command.dropFirst().first, "serve", "\(command)")
        XCTAssertTrue(command.contains("/etc/octavo-infer/config.json"), "\(command)")
        return command.dropFirst(2).map { $0 == "/etc/octavo-infer/config.json" ? config : $0 }
    }

    func assertServes(_ arguments: [String], ports: [Int], file: StaticString = #filePath, line: UInt = #line) throws
        -> ServeProcess
    {
        let server = try ServeProcess(arguments)
        XCTAssertTrue(server.waitFor("ready", timeout: 60), server.stdout + server.stderr, file: file, line: line)
        for port in ports {
            XCTAssertEqual(
                try TestClient.request(port: port, "/health").status, 200, "port \(port)", file: file, line: line)
        }
        let models = try TestClient.request(
            port: ports[0], "/v1/models", headers: ["Authorization": "Bearer deploy-test-key"])
        XCTAssertEqual(models.status, 200, models.text, file: file, line: line)
        return server
    }

    func testSystemdExecStartServesTheExampleConfigAndReloadAndStopWork() throws {
        let unit = try text("octavo-infer.service")
        func values(_ key: String) -> [String] {
            unit.split(separator: "\n").filter { $0.hasPrefix(key + "=") }.map { String($0.dropFirst(key.count + 1)) }
        }
        let execStart = try XCTUnwrap(values("ExecStart").first)
        let config = try exampleConfig()
        let arguments = try serveArguments(execStart.split(separator: " ").map(String.init), config: config.path)
        // ExecStartPre checks the same configuration.
        let check = try XCTUnwrap(values("ExecStartPre").first).split(separator: " ").map(String.init)
        let checker = try ServeProcess(try serveArguments(check, config: config.path))
        XCTAssertEqual(checker.waitForExit(timeout: 60), 0, checker.stderr)

        let server = try assertServes(arguments, ports: config.ports)
        XCTAssertEqual(values("ExecReload"), ["/bin/kill -HUP $MAINPID"])
        server.signal(SIGHUP)
        XCTAssertTrue(server.waitFor("SIGHUP: reloaded 1 API key"), server.stdout)
        XCTAssertEqual(values("KillSignal"), ["SIGTERM"])
        let grace = try XCTUnwrap(
            (JSONSerialization.jsonObject(with: Data(try text("config.example.json").utf8))
                as? [String: Any])?["grace-period"] as? Double)
        let timeout = try XCTUnwrap(values("TimeoutStopSec").first.flatMap(Double.init))
        XCTAssertGreaterThan(timeout, grace + 5, "TimeoutStopSec must leave the grace period time to drain")
        let start = Date()
        server.signal(SIGTERM)
        XCTAssertEqual(server.waitForExit(timeout: timeout), 0, server.stderr)
        print("systemd ExecStart: stopped in \(Int(Date().timeIntervalSince(start) * 1000)) ms after SIGTERM")
        for key in ["NoNewPrivileges", "ProtectSystem", "ReadWritePaths", "User"] {
            XCTAssertFalse(values(key).isEmpty, "the unit has no \(key)=")
        }
        XCTAssertEqual(values("ProtectSystem"), ["strict"])
        XCTAssertEqual(values("ReadWritePaths"), ["/var/lib/octavo-infer"])
    }

    func testComposeCommandServesTheExampleConfigOnTheOldPorts() throws {
        let compose = try text("compose.yaml")
        let line = try XCTUnwrap(
            compose.split(separator: "\n").first { $0.trimmingCharacters(in: .whitespaces).hasPrefix("command:") })
        let list = String(line[line.range(of: "command:")!.upperBound...])
        let command = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(list.utf8)) as? [String])
        for port in ["8080", "4019", "4020", "4021"] {
            XCTAssertTrue(compose.contains("- \"\(port):\(port)\""), "compose.yaml does not publish \(port)")
        }
        let dockerfile = try text("Dockerfile")
        XCTAssertTrue(
            dockerfile.contains(
                "CMD "
                    + String(data: try JSONSerialization.data(withJSONObject: command), encoding: .utf8)!
                    .replacingOccurrences(of: "\\/", with: "/").replacingOccurrences(of: "\",\"", with: "\", \"")),
            "the Dockerfile's CMD and the compose command differ")
        let config = try exampleConfig()
        let server = try assertServes(try serveArguments(command, config: config.path), ports: config.ports)
        XCTAssertTrue(server.stdout.contains("listening on http://0.0.0.0:\(config.ports[0])"), server.stdout)
        server.signal(SIGTERM)
        XCTAssertEqual(server.waitForExit(), 0, server.stderr)
    }

    func testDockerHealthcheckCommandProbesHealth() throws {
        let dockerfile = try text("Dockerfile")
        let start = try XCTUnwrap(dockerfile.range(of: "HEALTHCHECK"))
        let rest = dockerfile[start.upperBound...]
        let cmd = try XCTUnwrap(rest.range(of: "CMD "))
        let json = String(rest[cmd.upperBound...].prefix { $0 != "\n" })
        let command = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String])
        XCTAssertTrue(command.last?.contains("127.0.0.1/8080") == true, "\(command)")
        func probe(_ port: Int) throws -> Int32 {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments = command.dropLast() + [command.last!.replacingOccurrences(of: "/8080", with: "/\(port)")]
            process.standardError = FileHandle.nullDevice
            try process.run()
            process.waitUntilExit()
            return process.terminationStatus
        }
        let server = try ServeProcess(["--model", "tiny=\(AppFixtures.tinyGPT2.path)", "--port", "0"])
        let port = try XCTUnwrap(server.mainPort())
        XCTAssertTrue(server.waitFor("ready"))
        XCTAssertEqual(try probe(port), 0)
        server.signal(SIGTERM)
        XCTAssertEqual(server.waitForExit(), 0)
        XCTAssertNotEqual(try probe(port), 0, "the probe passes with nothing listening")
    }

    func testSystemdAnalyzeVerifiesTheUnit() throws {
        let analyzer = "/usr/bin/systemd-analyze"
        guard FileManager.default.isExecutableFile(atPath: analyzer) else {
            throw XCTSkip("systemd-analyze is not installed (apt-get install systemd)")
        }
        let binary = try ServeProcess.executable().path
        let unit = try text("octavo-infer.service").replacingOccurrences(
            of: "/usr/local/bin/octavo-infer", with: binary)
        let path = folder.appendingPathComponent("octavo-infer.service")
        try unit.write(to: path, atomically: true, encoding: .utf8)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: analyzer)
        process.arguments = ["verify", path.path]
        let errors = Pipe()
        process.standardError = errors
        process.standardOutput = errors
        try process.run()
        let output = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 0, output)
        XCTAssertEqual(output, "", "systemd-analyze warns (unknown keys are only warnings)")
    }

    func testNginxBalancesTwoServersAndSkipsOneThatStopped() throws {
        let nginx = ["/usr/sbin/nginx", "/usr/bin/nginx"].first { FileManager.default.isExecutableFile(atPath: $0) }
        guard let nginx else {
            return XCTFail("nginx is not installed: apt-get install nginx (.ci/run installs it)")
        }
        let servers = try (0..<2).map { _ in
            try ServeProcess([
                "--model", "tiny=\(AppFixtures.tinyGPT2.path)", "--port", "0", "--api-key", "k",
                "--allowed-host", "octavo.example.com",
            ])
        }
        let ports = try servers.map { try XCTUnwrap($0.mainPort()) }
        for server in servers { XCTAssertTrue(server.waitFor("ready")) }
        let front = try freeLoopbackPort()
        var config = try text("nginx.conf")
        let upstreams = config.split(separator: "\n").filter { $0.contains("server 10.0.0.") }
        XCTAssertEqual(upstreams.count, 3)
        for (index, line) in upstreams.enumerated() {
            let replacement =
                index < 2
                ? line.replacingOccurrences(of: "10.0.0.1\(index + 1):8080", with: "127.0.0.1:\(ports[index])") : ""
            config = config.replacingOccurrences(of: String(line), with: replacement)
        }
        config = config.replacingOccurrences(of: "listen 80;", with: "listen 127.0.0.1:\(front);")
        let prefix = folder.appendingPathComponent("nginx")
        try FileManager.default.createDirectory(
            at: prefix.appendingPathComponent("logs"), withIntermediateDirectories: true)
        let configPath = prefix.appendingPathComponent("nginx.conf")
        try config.write(to: configPath, atomically: true, encoding: .utf8)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: nginx)
        process.arguments = [
            "-p", prefix.path, "-c", configPath.path, "-e", prefix.appendingPathComponent("logs/error.log").path,
            "-g", "daemon off; pid \(prefix.path)/nginx.pid; user root;",
        ]
        try process.run()
        defer {
            process.terminate()
            process.waitUntilExit()
        }
        func call(_ path: String, method: String = "GET", body: String? = nil) throws -> TestResponse {
            let client = try TestClient(port: front)
            var request =
                "\(method) \(path) HTTP/1.1\r\nHost: octavo.example.com\r\nAuthorization: Bearer "
                + "k\r\nConnection: close\r\n"
            if let body { request += "Content-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\n" }
            client.send(request + "\r\n" + (body ?? ""))
            return try client.readResponse()
        }
        let deadline = Date(timeIntervalSinceNow: 10)
        while (try? call("/health"))?.status != 200 && Date() < deadline { Thread.sleep(forTimeInterval: 0.1) }
        let completion = #"{"prompt":"Once","max_tokens":2}"#
        for _ in 0..<6 { XCTAssertEqual(try call("/v1/completions", method: "POST", body: completion).status, 200) }
        // Proxied, so the legacy routes need the key even though nginx connects from 127.0.0.1.
        let client = try TestClient(port: front)
        let story = #"{"Prompt":"x"}"#
        client.send(
            "POST /generate_story HTTP/1.1\r\nHost: octavo.example.com\r\nContent-Type: "
                + "application/json\r\n"
                + "Content-Length: \(story.utf8.count)\r\nConnection: close\r\n\r\n\(story)")
        XCTAssertEqual(try client.readResponse().status, 401)

        servers[0].signal(SIGTERM)
        XCTAssertEqual(servers[0].waitForExit(), 0)
        for _ in 0..<6 { XCTAssertEqual(try call("/v1/completions", method: "POST", body: completion).status, 200) }
        servers[1].signal(SIGTERM)
        XCTAssertEqual(servers[1].waitForExit(), 0)
    }
}
