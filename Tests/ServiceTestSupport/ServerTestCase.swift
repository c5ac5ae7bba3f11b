import Foundation
import XCTest

@testable import HTTPServer

/// Starts a real server on 127.0.0.1, port 0, for each test, and shuts it down after.
class ServerTestCase: XCTestCase {
    var server: HTTPServer!
    var port = 0
    var observations = Observations()
    var logLines = Observations()

    func start(
        _ configure: (inout HTTPServerConfiguration) -> Void = { _ in },
        responder: HTTPResponder? = nil
    ) throws {
        var configuration = HTTPServerConfiguration()
        let log = logLines
        configuration.log = { log.record($0) }
        configure(&configuration)
        server = HTTPServer(configuration: configuration)
        let listener = try server.listen(port: 0, responder: responder ?? DemoRoutes.router(observations: observations))
        port = listener.port
    }

    override func tearDown() {
        server?.shutdown(gracePeriod: 1)
        server = nil
        super.tearDown()
    }

    /// The server still answers a plain request after whatever the test did to it.
    func assertHealthy(file: StaticString = #filePath, line: UInt = #line) {
        do {
            let response = try TestClient.request(port: port, "/hello")
            XCTAssertEqual(response.status, 200, file: file, line: line)
            XCTAssertEqual(response.text, "hello", file: file, line: line)
        } catch {
            XCTFail("server no longer healthy: \(error)", file: file, line: line)
        }
    }

    /// Runs `body(index)` on `count` threads at once (not `concurrentPerform`, which
    /// runs only as many as there are cores) and waits for all of them.
    func runConcurrently(_ count: Int, timeout: TimeInterval = 60, _ body: @escaping @Sendable (Int) -> Void) {
        let group = DispatchGroup()
        for index in 0..<count {
            group.enter()
            Thread {
                body(index)
                group.leave()
            }.start()
        }
        XCTAssertEqual(group.wait(timeout: .now() + timeout), .success)
    }

    /// Polls `condition` until it holds or `timeout` passes.
    func eventually(timeout: TimeInterval = 10, _ condition: () -> Bool) -> Bool {
        let deadline = Date(timeIntervalSinceNow: timeout)
        while Date() < deadline {
            if condition() { return true }
            Thread.sleep(forTimeInterval: 0.01)
        }
        return condition()
    }
}
