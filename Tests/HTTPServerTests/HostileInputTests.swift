import Foundation
import XCTest

@testable import ServiceTestSupport

/// What an internet-facing server meets: malformed, oversized, slow, silent and
/// flooding clients. After each, the server must still answer a normal request.
final class HostileInputTests: ServerTestCase {
    /// Sends `bytes` on a fresh connection and returns the status of the error
    /// response, checking that the server then closes the connection.
    private func statusAfterSending(_ bytes: [UInt8], file: StaticString = #filePath, line: UInt = #line) throws -> Int
    {
        let client = try TestClient(port: port)
        client.send(bytes)
        let response = try client.readResponse()
        XCTAssertEqual(response.headers["Connection"], "close", file: file, line: line)
        XCTAssertTrue(client.waitForClose(timeout: 5), "closed after a protocol error", file: file, line: line)
        return response.status
    }

    private func statusAfterSending(_ text: String, file: StaticString = #filePath, line: UInt = #line) throws -> Int {
        try statusAfterSending(Array(text.utf8), file: file, line: line)
    }

    func testTruncatedRequestThenHalfClose() throws {
        try start()
        let client = try TestClient(port: port)
        client.send("GET /hello HTTP/1.1\r\nHost: x\r\nX-Partial: ab")
        client.shutdownWrite()
        let response = try client.readResponse()
        XCTAssertEqual(response.status, 400)
        XCTAssertTrue(response.text.contains("truncated_request"))
        assertHealthy()
    }

    func testTruncatedBodyThenReset() throws {
        try start()
        let client = try TestClient(port: port)
        client.send("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nonly a bit")
        Thread.sleep(forTimeInterval: 0.05)
        client.reset()
        XCTAssertTrue(eventually { self.server.openConnectionCount == 0 })
        assertHealthy()
    }

    func testOversizedRequestLine() throws {
        try start()
        let status = try statusAfterSending(
            "GET /\(String(repeating: "a", count: 20_000)) HTTP/1.1\r\nHost: "
                + "x\r\n\r\n")
        XCTAssertEqual(status, 414)
        assertHealthy()
    }

    func testOversizedHeaderSection() throws {
        try start()
        let header = "X-Filler: \(String(repeating: "f", count: 1000))\r\n"
        let status = try statusAfterSending(
            "GET /hello HTTP/1.1\r\nHost: "
                + "x\r\n\(String(repeating: header, count: 40))\r\n")
        XCTAssertEqual(status, 431)
        assertHealthy()
    }

    func testHeaderFlood() throws {
        try start()
        let status = try statusAfterSending(
            "GET /hello HTTP/1.1\r\nHost: "
                + "x\r\n\(String(repeating: "a:b\r\n", count: 5000))\r\n")
        XCTAssertEqual(status, 431)
        assertHealthy()
    }

    func testOversizedBodyIsRefusedBeforeItIsRead() throws {
        try start { $0.maxBodyBytes = 64 * 1024 }
        let client = try TestClient(port: port)
        client.send("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 2000000\r\n\r\n")
        // The client keeps sending; the lingering close reads and discards it so the 413 arrives intact.
        client.send([UInt8](repeating: 0x41, count: 256 * 1024))
        let response = try client.readResponse()
        XCTAssertEqual(response.status, 413)
        assertHealthy()
    }

    func testOversizedChunkedBody() throws {
        try start { $0.maxBodyBytes = 1024 }
        let chunk = "400\r\n\(String(repeating: "z", count: 1024))\r\n"
        let status = try statusAfterSending(
            "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: "
                + "chunked\r\n\r\n\(chunk)\(chunk)0\r\n\r\n")
        XCTAssertEqual(status, 413)
        assertHealthy()
    }

    func testGarbage() throws {
        try start()
        var generator = SplitMix64(seed: 7)
        for _ in 0..<5 {
            let garbage = (0..<2000).map { _ in UInt8(truncatingIfNeeded: generator.next()) }
            let client = try TestClient(port: port)
            client.send(garbage)
            let response = try client.readResponse()
            XCTAssertTrue([400, 414].contains(response.status), "\(response.status)")
        }
        XCTAssertEqual(
            try statusAfterSending("\u{16}\u{03}\u{01}\u{00}\u{a5}\u{01}\u{00}\u{00}\u{a1}\u{03}\u{03}"), 400)
        XCTAssertEqual(try statusAfterSending("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"), 505)
        assertHealthy()
    }

    func testHeaderInjection() throws {
        try start()
        XCTAssertEqual(
            try statusAfterSending(Array("GET /hello HTTP/1.1\r\nHost: x\r\nX-A: a\u{0}b\r\n\r\n".utf8)), 400)
        XCTAssertEqual(try statusAfterSending("GET /hello HTTP/1.1\r\nHost: x\r\nX-A: a\rX-B: b\r\n\r\n"), 400)
        XCTAssertEqual(try statusAfterSending("GET /hello HTTP/1.1\r\nHost: x\nX-B: b\r\n\r\n"), 400)
        XCTAssertEqual(try statusAfterSending("GET /hello HTTP/1.1\r\nHost: x\r\nX-A: a\r\n folded\r\n\r\n"), 400)
        // Encoded CR/LF is data, not syntax: a path that matches no route.
        let encoded = try TestClient.request(port: port, "/hello%0d%0aX:%20y")
        XCTAssertEqual(encoded.status, 404)
        XCTAssertNil(encoded.headers["X"])
        XCTAssertEqual(try statusAfterSending("GET /hello%00 HTTP/1.1\r\nHost: x\r\n\r\n"), 400)
        assertHealthy()
    }

    func testContentLengthAttacks() throws {
        try start()
        let head = "POST /echo HTTP/1.1\r\nHost: x\r\n"
        XCTAssertEqual(try statusAfterSending(head + "Content-Length: 99999999999999999999\r\n\r\n"), 413)
        XCTAssertEqual(try statusAfterSending(head + "Content-Length: -5\r\n\r\nabc"), 400)
        XCTAssertEqual(try statusAfterSending(head + "Content-Length: 3\r\nContent-Length: 30\r\n\r\nabc"), 400)
        XCTAssertEqual(
            try statusAfterSending(head + "Content-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"), 400)
        XCTAssertEqual(try statusAfterSending(head + "\r\n"), 411)
        XCTAssertEqual(try statusAfterSending(head + "Transfer-Encoding: gzip\r\n\r\n"), 400)
        XCTAssertEqual(try statusAfterSending(head + "Transfer-Encoding: gzip, chunked\r\n\r\n"), 501)
        assertHealthy()
    }

    func testSmuggledSecondRequestIsNeverServed() throws {
        try start()
        let client = try TestClient(port: port)
        client.send(
            "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nContent-Length: 44\r\n\r\n"
                + "GET /think HTTP/1.1\r\nHost: x\r\n\r\n")
        XCTAssertEqual(try client.readResponse().status, 400)
        XCTAssertTrue(client.waitForClose(timeout: 5))
        XCTAssertNil(observations.wait(for: "think-started", timeout: 0.3))
    }

    func testSlowLorisGets408() throws {
        try start { $0.headerTimeout = 1 }
        let client = try TestClient(port: port)
        let started = Date()
        // One byte every 0.3 s, for longer than the header timeout allows.
        for byte in "GET /hello HTTP/1.1\r\nHost: x\r\n".utf8 {
            guard Date().timeIntervalSince(started) < 1.5, client.send([byte]) else { break }
            Thread.sleep(forTimeInterval: 0.3)
        }
        client.setReadTimeout(5)
        let response = try client.readResponse()
        XCTAssertEqual(response.status, 408)
        XCTAssertTrue(response.text.contains("header_timeout"))
        XCTAssertTrue(client.waitForClose(timeout: 5))
        let elapsed = Date().timeIntervalSince(started)
        XCTAssertGreaterThan(elapsed, 0.9)
        XCTAssertLessThan(elapsed, 4)
        assertHealthy()
    }

    func testSlowBodyGets408() throws {
        try start { $0.bodyTimeout = 0.5 }
        let client = try TestClient(port: port)
        client.send("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nab")
        let response = try client.readResponse()
        XCTAssertEqual(response.status, 408)
        XCTAssertTrue(response.text.contains("body_timeout"))
        assertHealthy()
    }

    func testSilentClientIsClosedWithoutAResponse() throws {
        try start { $0.headerTimeout = 0.5 }
        let client = try TestClient(port: port)
        let started = Date()
        XCTAssertTrue(client.waitForClose(timeout: 5))
        XCTAssertEqual(client.readUntilClosed(), [])
        XCTAssertGreaterThan(Date().timeIntervalSince(started), 0.4)
        assertHealthy()
    }

    func testConnectionsBeyondTheCapGet503() throws {
        try start {
            $0.maxConnections = 3
            $0.retryAfterWhenBusy = 2
        }
        let holders = try (0..<3).map { _ in try TestClient(port: port) }
        XCTAssertTrue(eventually { self.server.openConnectionCount == 3 })
        let extra = try TestClient(port: port)
        extra.send("GET /hello HTTP/1.1\r\nHost: x\r\n\r\n")
        let response = try extra.readResponse()
        XCTAssertEqual(response.status, 503)
        XCTAssertEqual(response.headers["Retry-After"], "2")
        XCTAssertTrue(response.text.contains("too_many_connections"))
        XCTAssertTrue(extra.waitForClose(timeout: 5))

        // The held connections still work, and freeing them lets new clients in.
        holders[0].send("GET /hello HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        XCTAssertEqual(try holders[0].readResponse().text, "hello")
        for holder in holders { holder.reset() }
        XCTAssertTrue(eventually { self.server.openConnectionCount == 0 })
        assertHealthy()
    }

    func testBurstBeyondTheCapIsAnsweredNotHung() throws {
        try start { $0.maxConnections = 4 }
        let statuses = Observations()
        let port = self.port
        runConcurrently(24) { _ in
            do {
                let response = try TestClient.request(port: port, "/sleep?ms=300")
                statuses.record(String(response.status))
            } catch {
                statuses.record("error: \(error)")
            }
        }
        let all = statuses.all
        XCTAssertEqual(all.count, 24)
        XCTAssertTrue(all.allSatisfy { $0 == "200" || $0 == "503" }, "\(all)")
        XCTAssertTrue(all.contains("503"))
        XCTAssertTrue(all.contains("200"))
        XCTAssertTrue(eventually { self.server.openConnectionCount == 0 })
        assertHealthy()
    }

    func testManyConcurrentClients() throws {
        try start()
        let failures = Observations()
        let port = self.port
        runConcurrently(64) { index in
            do {
                let response = try TestClient.request(port: port, "/items/\(index)")
                if response.text != #"{"id":"\#(index)"}"# { failures.record("wrong body \(index)") }
            } catch {
                failures.record("\(index): \(error)")
            }
        }
        XCTAssertEqual(failures.all, [])
        assertHealthy()
    }

    func testClientThatNeverReadsDoesNotHoldTheServerForever() throws {
        try start { $0.writeTimeout = 0.5 }
        let client = try TestClient(port: port)
        client.send("GET /flood HTTP/1.1\r\nHost: x\r\n\r\n")
        // Never read: once the kernel buffers are full, a write stalls past the write timeout
        // and the producer is told the client is gone.
        let stopped = observations.wait(for: "flood-stopped", timeout: 30)
        XCTAssertNotNil(stopped)
        assertHealthy()
        withExtendedLifetime(client) {}
    }
}
