import Foundation
import XCTest

@testable import InferenceServer
@testable import JobStore
@testable import ServiceTestSupport

/// `octavo-infer serve` as a process: startup, signals, startup errors, and kill -9 with
/// durable jobs.
final class ServeCommandTests: XCTestCase {
    var databasePath = ""

    override func setUp() {
        databasePath = NSTemporaryDirectory() + "octavo-serve-\(UUID().uuidString).sqlite"
    }

    override func tearDown() {
        for suffix in ["", "-wal", "-shm", ".lock"] {
            try? FileManager.default.removeItem(atPath: databasePath + suffix)
        }
    }

    var tinyModel: String { "tiny=" + AppFixtures.tinyGPT2.path }

    func testKillNineAndRestartKeepsEveryAcceptedJob() throws {
        let first = try ServeProcess([
            "--model", tinyModel, "--port", "0", "--jobs-db", databasePath, "--max-batch", "1",
        ])
        let port = try XCTUnwrap(first.mainPort(), first.stderr)
        XCTAssertTrue(first.waitFor("ready"), first.stdout + first.stderr)
        var ids: [String] = []
        for index in 0..<12 {
            let body =
                index % 3 == 0
                ? #"{"type":"story","Prompt":"Story: number \#(index)"}"#
                : #"{"type":"generate","prompt":"Once upon a time","max_new_tokens":50,"seed":\#(index)}"#
            let response = try TestClient.request(
                port: port, "POST", "/v1/jobs", headers: ["Content-Type": "application/json"], body: body)
            XCTAssertEqual(response.status, 202, response.text)
            let object = try XCTUnwrap((try? JSONSerialization.jsonObject(with: Data(response.body))) as? [String: Any])
            ids.append(try XCTUnwrap(object["id"] as? String))
        }
        first.signal(SIGKILL)
        XCTAssertEqual(first.waitForExit(), SIGKILL)

        let second = try ServeProcess(["--model", tinyModel, "--port", "0", "--jobs-db", databasePath])
        let secondPort = try XCTUnwrap(second.mainPort(), second.stderr)
        XCTAssertTrue(second.waitFor("ready"), second.stdout + second.stderr)
        var statuses: [String: String] = [:]
        var reruns = 0
        let deadline = Date(timeIntervalSinceNow: 60)
        while Date() < deadline {
            reruns = 0
            for id in ids {
                let response = try TestClient.request(port: secondPort, "/v1/jobs/\(id)")
                XCTAssertEqual(response.status, 200, "job \(id) was lost: \(response.text)")
                let job = (try? JSONSerialization.jsonObject(with: Data(response.body))) as? [String: Any]
                statuses[id] = job?["status"] as? String
                if (job?["attempts"] as? Int ?? 0) > 1 { reruns += 1 }
            }
            if statuses.values.allSatisfy({ $0 == "succeeded" }) { break }
            Thread.sleep(forTimeInterval: 0.1)
        }
        XCTAssertEqual(statuses.count, ids.count)
        XCTAssertTrue(statuses.values.allSatisfy { $0 == "succeeded" }, "\(statuses)")
        print(
            "kill -9 test: \(reruns) of \(ids.count) jobs were running at the kill and ran again after the "
                + "restart")
        second.signal(SIGTERM)
        XCTAssertEqual(second.waitForExit(), 0, second.stderr)
    }

    func testSIGTERMStopsCleanlyWithExitZeroAndStartupPrintsURLsAndModels() throws {
        let server = try ServeProcess(["--model", tinyModel, "--port", "0"])
        let port = try XCTUnwrap(server.mainPort())
        XCTAssertTrue(server.waitFor("ready"))
        XCTAssertTrue(server.stdout.contains("loaded tiny: gpt2"), server.stdout)
        XCTAssertEqual(try TestClient.request(port: port, "/health").status, 200)
        server.signal(SIGTERM)
        XCTAssertEqual(server.waitForExit(), 0, server.stderr)
        XCTAssertTrue(server.stdout.contains("stopped"), server.stdout)
    }

    func testExtraListenerServesItsModelOnTheLegacyRoute() throws {
        let extra = try freeLoopbackPort()
        let server = try ServeProcess(["--model", tinyModel, "--port", "0", "--listen", "\(extra)=tiny"])
        XCTAssertTrue(server.waitFor("ready"), server.stderr)
        XCTAssertTrue(server.stdout.contains("listening on http://127.0.0.1:\(extra) (tiny)"), server.stdout)
        let response = try TestClient.request(
            port: extra, "POST", "/generate_story", headers: ["Content-Type": "application/json"],
            body: #"{"Prompt":"Story: a"}"#)
        XCTAssertEqual(response.status, 200, response.text)
        server.signal(SIGINT)
        XCTAssertEqual(server.waitForExit(), 0)
    }

    func testStartupErrorsExitOneOrTwoWithOneLine() throws {
        let missing = try ServeProcess(["--model", "x=/nonexistent/folder", "--port", "0"])
        XCTAssertEqual(missing.waitForExit(), 1)
        XCTAssertTrue(missing.stderr.contains("/nonexistent/folder"), missing.stderr)

        let broken = try ServeProcess([
            "--model", "x=" + AppFixtures.root.appendingPathComponent("Tokenizer/bpe-small").path, "--port", "0",
        ])
        XCTAssertEqual(broken.waitForExit(), 1)
        XCTAssertTrue(broken.stderr.contains("config.json"), broken.stderr)

        let usage = try ServeProcess(["--port", "0"])
        XCTAssertEqual(usage.waitForExit(), 2)
        let badListen = try ServeProcess(["--model", tinyModel, "--listen", "4019=nobody"])
        XCTAssertEqual(badListen.waitForExit(), 2)
        XCTAssertTrue(badListen.stderr.contains("nobody"), badListen.stderr)
    }
}
