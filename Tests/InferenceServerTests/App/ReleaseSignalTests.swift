import Foundation
import XCTest

@testable import InferenceServer
@testable import ServiceTestSupport

/// Signals on the release binary users run (the optimized build once lost its signal sources
/// while the debug one kept them): a request in flight when SIGTERM or SIGINT arrives is answered,
/// a second signal stops at once, SIGHUP changes nothing.
final class ReleaseSignalTests: XCTestCase {
    var tinyModel: String { "tiny=" + AppFixtures.tinyGPT2.path }

    private func startReleaseServer(_ extra: [String] = []) throws -> (ServeProcess, Int) {
        let server = try ServeProcess(
            ["--model", tinyModel, "--port", "0"] + extra,
            executable: try ServeProcess.releaseExecutable())
        let port = try XCTUnwrap(server.mainPort(), server.stderr)
        XCTAssertTrue(server.waitFor("ready"), server.stdout + server.stderr)
        return (server, port)
    }

    /// Sends a generate request's head and half its body, so the request is in flight (being
    /// read) until the test sends the rest.
    private func beginRequest(port: Int) throws -> (TestClient, remainder: String) {
        let body = #"{"prompt": "Once upon a time", "max_new_tokens": 8, "greedy": true}"#
        let client = try TestClient(port: port, timeout: 20)
        let half = body.utf8.count / 2
        let head =
            "POST /v1/generate HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
            + "Content-Length: \(body.utf8.count)\r\n\r\n"
        XCTAssertTrue(client.send(head + String(body.prefix(half))))
        return (client, String(body.dropFirst(half)))
    }

    private func drainsInFlightRequest(on signal: Int32, name: String) throws {
        let (server, port) = try startReleaseServer(["--grace-period", "20"])
        let (client, remainder) = try beginRequest(port: port)
        Thread.sleep(forTimeInterval: 0.3)  // the server has read the head
        server.signal(signal)
        XCTAssertTrue(server.waitFor("\(name): shutting down", timeout: 10), server.stdout + server.stderr)
        XCTAssertNil(server.waitForExit(timeout: 0.5), "exited before the request in flight was answered")

        XCTAssertTrue(client.send(remainder))
        let response = try client.readResponse()
        XCTAssertEqual(response.status, 200, response.text)
        XCTAssertEqual(response.headers["Connection"]?.lowercased(), "close")
        let reply = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any])
        XCTAssertEqual((reply["generated_ids"] as? [Int])?.count, 8, response.text)

        XCTAssertEqual(server.waitForExit(timeout: 20), 0, server.stdout + server.stderr)
        XCTAssertTrue(server.stdout.contains("stopped: 1 connection drained (0 forced closed)"), server.stdout)
        XCTAssertEqual(try? TestClient(port: port).fd, nil, "still accepting after stopping")
    }

    func testSIGTERMLetsTheRequestInFlightFinishThenExitsZero() throws {
        try drainsInFlightRequest(on: SIGTERM, name: "SIGTERM")
    }

    func testSIGINTStopsGracefullyLikeSIGTERM() throws {
        try drainsInFlightRequest(on: SIGINT, name: "SIGINT")
    }

    func testASecondSignalStopsAtOnce() throws {
        let (server, port) = try startReleaseServer(["--grace-period", "60"])
        let (client, _) = try beginRequest(port: port)
        Thread.sleep(forTimeInterval: 0.3)
        server.signal(SIGTERM)
        XCTAssertTrue(server.waitFor("SIGTERM: shutting down", timeout: 10), server.stdout + server.stderr)
        XCTAssertNil(server.waitForExit(timeout: 0.5), "the first signal did not wait for the request in flight")
        server.signal(SIGTERM)
        // Well under the 60 s grace period: the second signal does not wait for the request.
        XCTAssertEqual(server.waitForExit(timeout: 10), 128 + SIGTERM, server.stdout + server.stderr)
        XCTAssertTrue(server.stdout.contains("second SIGTERM: stopping now"), server.stdout)
        XCTAssertTrue(client.waitForClose(timeout: 5))
    }

    func testSIGHUPIsIgnored() throws {
        let (server, port) = try startReleaseServer()
        server.signal(SIGHUP)
        Thread.sleep(forTimeInterval: 0.3)
        XCTAssertEqual(try TestClient.request(port: port, "/health").status, 200, server.stderr)
        server.signal(SIGTERM)
        XCTAssertEqual(server.waitForExit(), 0, server.stdout + server.stderr)
    }
}
