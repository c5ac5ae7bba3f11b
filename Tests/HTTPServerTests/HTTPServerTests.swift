import Foundation
import XCTest

@testable import HTTPServer
@testable import ServiceTestSupport

/// End to end over loopback: real sockets, real threads.
final class HTTPServerTests: ServerTestCase {
    func testGetAndPost() throws {
        try start()
        let get = try TestClient.request(port: port, "/hello")
        XCTAssertEqual(get.status, 200)
        XCTAssertEqual(get.text, "hello")
        XCTAssertEqual(get.headers["Content-Length"], "5")
        XCTAssertEqual(get.headers["Content-Type"], "text/plain; charset=utf-8")
        XCTAssertNotNil(get.headers["Date"])
        XCTAssertEqual(get.headers["Server"], "octavo-infer")

        let post = try TestClient.request(
            port: port, "POST", "/echo", headers: ["Content-Type": "application/json"],
            body: #"{"prompt":"héllo"}"#)
        XCTAssertEqual(post.status, 200)
        XCTAssertEqual(post.text, #"{"prompt":"héllo"}"#)
        XCTAssertEqual(post.headers["Content-Type"], "application/json")

        let item = try TestClient.request(port: port, "/items/a%20b")
        XCTAssertEqual(item.text, #"{"id":"a b"}"#)
    }

    func testPortZeroPicksAPortAndSeveralListenersCoexist() throws {
        try start()
        let extra = try server.listen(host: "127.0.0.1", port: 0, name: "nllb", responder: DemoRoutes.router())
        XCTAssertNotEqual(port, 0)
        XCTAssertNotEqual(extra.port, port)
        XCTAssertEqual(server.listeners.count, 2)
        let main = try TestClient.request(port: port, "/connection").text.split(separator: " ")
        let other = try TestClient.request(port: extra.port, "/connection").text.split(separator: " ")
        XCTAssertEqual(main[2...].joined(separator: " "), "\(port) -")
        XCTAssertEqual(other[2...].joined(separator: " "), "\(extra.port) nllb")
        XCTAssertThrowsError(try server.listen(port: extra.port, responder: DemoRoutes.router())) { error in
            guard case HTTPServerError.bindFailed = error else { return XCTFail("\(error)") }
        }
        XCTAssertThrowsError(try server.listen(host: "not-an-ip", port: 0, responder: DemoRoutes.router()))
        extra.close()
        XCTAssertThrowsError(try TestClient(port: extra.port))
        assertHealthy()
    }

    func testKeepAliveReusesTheConnection() throws {
        try start()
        let client = try TestClient(port: port)
        var seen: [[Substring]] = []
        for _ in 0..<3 {
            client.send("GET /connection HTTP/1.1\r\nHost: x\r\n\r\n")
            let response = try client.readResponse()
            XCTAssertEqual(response.status, 200)
            XCTAssertNil(response.headers["Connection"])
            seen.append(response.text.split(separator: " "))
        }
        XCTAssertEqual(Set(seen.map { $0[0] }).count, 1, "same connection id")
        XCTAssertEqual(seen.map { $0[1] }, ["0", "1", "2"])
    }

    func testPipelinedRequestsAreAnsweredInOrder() throws {
        try start()
        let client = try TestClient(port: port)
        client.send(
            "GET /items/1 HTTP/1.1\r\nHost: x\r\n\r\n"
                + "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nfirst"
                + "GET /items/3 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        XCTAssertEqual(try client.readResponse().text, #"{"id":"1"}"#)
        XCTAssertEqual(try client.readResponse().text, "first")
        let last = try client.readResponse()
        XCTAssertEqual(last.text, #"{"id":"3"}"#)
        XCTAssertEqual(last.headers["Connection"], "close")
        XCTAssertTrue(client.waitForClose(timeout: 5))
    }

    func testConnectionCloseIsHonoured() throws {
        try start()
        let client = try TestClient(port: port)
        client.send("GET /hello HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        let response = try client.readResponse()
        XCTAssertEqual(response.headers["Connection"], "close")
        XCTAssertTrue(client.waitForClose(timeout: 5))
    }

    func testHTTP10ClosesUnlessKeepAliveIsAsked() throws {
        try start()
        let plain = try TestClient(port: port)
        plain.send("GET /hello HTTP/1.0\r\n\r\n")
        let first = try plain.readResponse()
        XCTAssertEqual(first.status, 200)
        XCTAssertEqual(first.headers["Connection"], "close")
        XCTAssertTrue(plain.waitForClose(timeout: 5))

        let kept = try TestClient(port: port)
        kept.send("GET /hello HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
        XCTAssertEqual(try kept.readResponse().headers["Connection"], "keep-alive")
        kept.send("GET /hello HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
        XCTAssertEqual(try kept.readResponse().text, "hello")
    }

    func testHeadSendsHeadersWithoutBody() throws {
        try start()
        let client = try TestClient(port: port)
        client.send("HEAD /hello HTTP/1.1\r\nHost: x\r\n\r\nGET /hello HTTP/1.1\r\nHost: x\r\n\r\n")
        let head = try client.readResponse(forHead: true)
        XCTAssertEqual(head.status, 200)
        XCTAssertEqual(head.headers["Content-Length"], "5")
        // The next bytes on the wire are the second response, not a body.
        XCTAssertEqual(try client.readResponse().text, "hello")
    }

    func testNotFoundAndMethodNotAllowed() throws {
        try start()
        let missing = try TestClient.request(port: port, "/nope")
        XCTAssertEqual(missing.status, 404)
        XCTAssertEqual(missing.headers["Content-Type"], "application/json")
        XCTAssertEqual(
            missing.text,
            #"{"error":{"message":"Invalid URL (GET /nope)","type":"invalid_request_error","code":"unknown_url"}}"#)

        let wrongMethod = try TestClient.request(port: port, "DELETE", "/hello")
        XCTAssertEqual(wrongMethod.status, 405)
        XCTAssertEqual(wrongMethod.headers["Allow"], "GET, HEAD, OPTIONS")
    }

    func testCORSPreflightAndHeaders() throws {
        let router = DemoRoutes.router()
        router.use(CORSMiddleware())
        try start(responder: router)
        let preflight = try TestClient.request(
            port: port, "OPTIONS", "/echo",
            headers: [
                "Origin": "http://app.example", "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "content-type, authorization",
            ])
        XCTAssertEqual(preflight.status, 204)
        XCTAssertEqual(preflight.headers["Access-Control-Allow-Origin"], "*")
        XCTAssertEqual(preflight.headers["Access-Control-Allow-Headers"], "content-type, authorization")
        XCTAssertTrue(preflight.headers["Access-Control-Allow-Methods"]?.contains("POST") ?? false)
        XCTAssertNil(preflight.headers["Content-Length"])

        let normal = try TestClient.request(port: port, "/hello", headers: ["Origin": "http://app.example"])
        XCTAssertEqual(normal.headers["Access-Control-Allow-Origin"], "*")
        let missing = try TestClient.request(port: port, "/nope")
        XCTAssertEqual(missing.status, 404)
        XCTAssertEqual(missing.headers["Access-Control-Allow-Origin"], "*")
    }

    func testServerSentEventsAreChunkedOneEventPerChunk() throws {
        try start()
        let client = try TestClient(port: port)
        client.send("GET /stream?count=3 HTTP/1.1\r\nHost: x\r\n\r\n")
        let response = try client.readResponse()
        XCTAssertEqual(response.status, 200)
        XCTAssertEqual(response.headers["Content-Type"], "text/event-stream")
        XCTAssertEqual(response.headers["Cache-Control"], "no-cache")
        XCTAssertEqual(response.headers["Transfer-Encoding"], "chunked")
        XCTAssertNil(response.headers["Content-Length"])
        XCTAssertEqual(
            response.chunks?.map { String(decoding: $0, as: UTF8.self) },
            [
                "data: {\"index\":0}\n\n", "data: {\"index\":1}\n\n", "data: {\"index\":2}\n\n", "data: [DONE]\n\n",
            ])
        // Still usable after the stream's terminating chunk.
        client.send("GET /hello HTTP/1.1\r\nHost: x\r\n\r\n")
        XCTAssertEqual(try client.readResponse().text, "hello")
    }

    func testServerSentEventsOverHTTP10AreCloseDelimited() throws {
        try start()
        let client = try TestClient(port: port)
        client.send("GET /stream?count=2 HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
        let response = try client.readResponse()
        XCTAssertNil(response.headers["Transfer-Encoding"])
        XCTAssertEqual(response.headers["Connection"], "close")
        XCTAssertEqual(response.text, "data: {\"index\":0}\n\ndata: {\"index\":1}\n\ndata: [DONE]\n\n")
    }

    func testStreamProducerLearnsQuicklyThatTheClientLeft() throws {
        try start()
        let client = try TestClient(port: port)
        client.send("GET /endless HTTP/1.1\r\nHost: x\r\n\r\n")
        _ = try client.readHead()
        XCTAssertNotNil(try client.readChunk())
        XCTAssertNotNil(try client.readChunk())
        let closedAt = Date()
        client.reset()
        XCTAssertNotNil(observations.wait(for: "endless-stopped", timeout: 10))
        XCTAssertLessThan(Date().timeIntervalSince(closedAt), 2)
        assertHealthy()
    }

    func testDisconnectIsDetectedWhileNothingIsWritten() throws {
        try start()
        let client = try TestClient(port: port)
        client.send("GET /think HTTP/1.1\r\nHost: x\r\n\r\n")
        XCTAssertNotNil(observations.wait(for: "think-started"))
        Thread.sleep(forTimeInterval: 0.1)
        XCTAssertNil(observations.wait(for: "think-noticed", timeout: 0.2), "no false alarm while connected")
        let closedAt = Date()
        client.shutdownWrite()  // a FIN: the client is gone as far as HTTP is concerned
        XCTAssertNotNil(observations.wait(for: "think-callback", timeout: 10))
        XCTAssertNotNil(observations.wait(for: "think-noticed-disconnect", timeout: 10))
        XCTAssertLessThan(Date().timeIntervalSince(closedAt), 2)
        assertHealthy()
    }

    func testExpectContinueGetsAnInterimResponse() throws {
        try start()
        let client = try TestClient(port: port)
        client.send("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n")
        let interim = try client.readResponse(keepInterim: true)
        XCTAssertEqual(interim.status, 100)
        client.send("ping")
        XCTAssertEqual(try client.readResponse().text, "ping")
    }

    func testChunkedRequestBody() throws {
        try start()
        let client = try TestClient(port: port)
        client.send("POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n")
        client.send("4\r\nwiki\r\n")
        client.send("5\r\npedia\r\n0\r\n\r\n")
        XCTAssertEqual(try client.readResponse().text, "wikipedia")
    }

    func testHandlerErrorsAreRendered() throws {
        try start()
        let internalError = try TestClient.request(port: port, "/throw")
        XCTAssertEqual(internalError.status, 500)
        XCTAssertFalse(internalError.text.contains("Secret"), "details stay in the log")
        XCTAssertTrue(internalError.text.contains(#""type":"server_error""#))

        let busy = try TestClient.request(port: port, "/busy")
        XCTAssertEqual(busy.status, 429)
        XCTAssertEqual(busy.headers["Retry-After"], "7")
        XCTAssertEqual(
            busy.text, #"{"error":{"message":"Queue full","type":"invalid_request_error","code":"queue_full"}}"#)
    }

    func testResponseHeaderInjectionIsDropped() throws {
        try start()
        let response = try TestClient.request(port: port, "/inject")
        XCTAssertEqual(response.headers["X-Good"], "yes")
        XCTAssertNil(response.headers["X-Bad"])
        XCTAssertNil(response.headers["Set-Cookie"])
        XCTAssertEqual(response.headers["Content-Length"], "4")
        XCTAssertEqual(response.text, "safe")
    }

    func testIdleKeepAliveConnectionIsClosed() throws {
        try start { $0.idleTimeout = 0.3 }
        let client = try TestClient(port: port)
        client.send("GET /hello HTTP/1.1\r\nHost: x\r\n\r\n")
        XCTAssertEqual(try client.readResponse().status, 200)
        let start = Date()
        XCTAssertTrue(client.waitForClose(timeout: 5))
        XCTAssertGreaterThan(Date().timeIntervalSince(start), 0.2)
        XCTAssertTrue(eventually { self.server.openConnectionCount == 0 })
    }

    func testBearerAuthOverTheWire() throws {
        let router = DemoRoutes.router()
        router.use(CORSMiddleware())
        router.use(BearerAuthMiddleware(apiKeys: ["sk-test-1"], exemptRoutes: ["/hello"]))
        try start(responder: router)
        XCTAssertEqual(try TestClient.request(port: port, "/hello").status, 200)
        let missing = try TestClient.request(port: port, "/items/1")
        XCTAssertEqual(missing.status, 401)
        XCTAssertEqual(missing.headers["WWW-Authenticate"], "Bearer")
        XCTAssertEqual(missing.headers["Access-Control-Allow-Origin"], "*")
        let wrong = try TestClient.request(port: port, "/items/1", headers: ["Authorization": "Bearer sk-test-2"])
        XCTAssertEqual(wrong.status, 401)
        XCTAssertTrue(wrong.text.contains("invalid_api_key"))
        let right = try TestClient.request(port: port, "/items/1", headers: ["Authorization": "Bearer sk-test-1"])
        XCTAssertEqual(right.status, 200)
    }

    func testLegacyErrorShapeForParserErrorsChosenByPath() throws {
        let router = Router(errorRenderer: { report in
            (report.path ?? "").hasPrefix("/v1/")
                ? HTTPErrorRenderers.openAI(report) : HTTPErrorRenderers.legacy(report)
        })
        try start({ $0.maxRequestHeadBytes = 512 }, responder: router)
        let big = String(repeating: "x", count: 600)
        let legacy = try TestClient(port: port)
        legacy.send("GET /translate HTTP/1.1\r\nHost: x\r\nX-Big: \(big)\r\n\r\n")
        let legacyResponse = try legacy.readResponse()
        XCTAssertEqual(legacyResponse.status, 431)
        XCTAssertEqual(legacyResponse.text, #"{"error":"The request header section is too large.","Status":false}"#)
        let modern = try TestClient(port: port)
        modern.send("GET /v1/models HTTP/1.1\r\nHost: x\r\nX-Big: \(big)\r\n\r\n")
        XCTAssertTrue(try modern.readResponse().text.contains(#""code":"header_section_too_large""#))
    }

    func testGracefulShutdownLetsInFlightRequestsFinish() throws {
        try start { $0.lingerTimeout = 0.5 }
        let busy = try TestClient(port: port)
        busy.send("GET /sleep?ms=500 HTTP/1.1\r\nHost: x\r\n\r\n")
        let idle = try TestClient(port: port)
        idle.send("GET /hello HTTP/1.1\r\nHost: x\r\n\r\n")
        XCTAssertEqual(try idle.readResponse().status, 200)
        Thread.sleep(forTimeInterval: 0.1)  // the slow request is in its handler

        let started = Date()
        let server = self.server!
        let done = expectation(description: "shutdown returned")
        DispatchQueue.global().async {
            server.shutdown(gracePeriod: 5)
            done.fulfill()
        }
        XCTAssertTrue(idle.waitForClose(timeout: 5), "idle kept-alive connections close at once")
        let response = try busy.readResponse()
        XCTAssertEqual(response.status, 200)
        XCTAssertEqual(response.text, "slept")
        XCTAssertEqual(response.headers["Connection"], "close")
        wait(for: [done], timeout: 10)
        XCTAssertLessThan(Date().timeIntervalSince(started), 4)
        XCTAssertThrowsError(try TestClient(port: port), "no longer accepting")
        XCTAssertEqual(server.openConnectionCount, 0)
    }

    func testShutdownForcesStreamsThatOutliveTheGracePeriod() throws {
        try start()
        let client = try TestClient(port: port)
        client.send("GET /endless HTTP/1.1\r\nHost: x\r\n\r\n")
        _ = try client.readHead()
        XCTAssertNotNil(try client.readChunk())
        let started = Date()
        server.shutdown(gracePeriod: 0.3)
        XCTAssertLessThan(Date().timeIntervalSince(started), 3)
        XCTAssertNotNil(observations.wait(for: "endless-stopped", timeout: 5))
        XCTAssertEqual(server.openConnectionCount, 0)
    }
}
