import Foundation

@testable import HTTPServer

/// Records what handlers observed, for tests to wait on.
final class Observations: @unchecked Sendable {
    private let condition = NSCondition()
    private var events: [String] = []

    func record(_ event: String) {
        condition.lock()
        events.append(event)
        condition.broadcast()
        condition.unlock()
    }

    var all: [String] {
        condition.lock()
        defer { condition.unlock() }
        return events
    }

    /// Waits until an event starting with `prefix` was recorded; returns it.
    func wait(for prefix: String, timeout: TimeInterval = 10) -> String? {
        let deadline = Date(timeIntervalSinceNow: timeout)
        condition.lock()
        defer { condition.unlock() }
        while true {
            if let event = events.first(where: { $0.hasPrefix(prefix) }) { return event }
            if !condition.wait(until: deadline) { return nil }
        }
    }
}

/// The tiny demo application the end-to-end tests talk to.
enum DemoRoutes {
    static func router(observations: Observations = Observations()) -> Router {
        let router = Router()
        router.get("/hello") { _, _ in .text("hello") }
        router.post("/echo") { request, _ in
            HTTPResponse(
                status: .ok, headers: ["Content-Type": request.headers["Content-Type"] ?? "application/octet-stream"],
                body: .bytes(request.body))
        }
        router.get("/items/{id}") { request, _ in
            .json(bytes: Array(#"{"id":\#(JSONText.quoted(request.parameter("id") ?? ""))}"#.utf8))
        }
        router.get("/connection") { _, context in
            .text(
                "\(context.connectionID) \(context.requestIndex) \(context.localPort) "
                    + "\(context.listenerName ?? "-")")
        }
        router.get("/sleep") { request, _ in
            let milliseconds = Int(request.queryValue("ms") ?? "") ?? 100
            Thread.sleep(forTimeInterval: Double(min(milliseconds, 5000)) / 1000)
            return .text("slept")
        }
        // SSE: `count` events, `interval` ms apart.
        router.get("/stream") { request, _ in
            let count = Int(request.queryValue("count") ?? "") ?? 3
            let interval = Double(Int(request.queryValue("interval") ?? "") ?? 0) / 1000
            return .eventStream { events in
                for index in 0..<min(count, 10_000) {
                    guard events.send(data: #"{"index":\#(index)}"#) else { return }
                    if interval > 0 { Thread.sleep(forTimeInterval: interval) }
                }
                events.send(data: "[DONE]")
            }
        }
        // Streams until the client goes away, then reports how it noticed.
        router.get("/endless") { _, _ in
            .eventStream { events in
                var sent = 0
                while events.send(data: #"{"token":\#(sent)}"#) {
                    sent += 1
                    Thread.sleep(forTimeInterval: 0.02)
                }
                observations.record("endless-stopped after \(sent)")
            }
        }
        // Writes 64 KiB chunks as fast as the client takes them.
        router.get("/flood") { _, _ in
            .stream(contentType: "application/octet-stream") { writer in
                let chunk = [UInt8](repeating: 0x2E, count: 64 * 1024)
                var written = 0
                while written < 1 << 30, writer.write(chunk) { written += chunk.count }
                observations.record("flood-stopped after \(written) bytes")
            }
        }
        // Computes without writing anything; must still learn about the disconnect.
        router.get("/think") { _, context in
            observations.record("think-started")
            context.disconnect.onDisconnect { observations.record("think-callback") }
            let noticed = context.disconnect.wait(timeout: 20)
            observations.record(noticed ? "think-noticed-disconnect" : "think-timeout")
            return .text("done thinking")
        }
        router.get("/throw") { _, _ in
            struct Secret: Error {}
            throw Secret()
        }
        router.get("/busy") { _, _ in
            throw HTTPError.retryLater(.tooManyRequests, "Queue full", afterSeconds: 7, code: "queue_full")
        }
        router.get("/inject") { _, _ in
            HTTPResponse(
                status: .ok,
                headers: [
                    "X-Good": "yes", "X-Bad": "a\r\nSet-Cookie: evil=1",
                    "Bad Name": "x", "Content-Length": "999",
                ],
                body: .bytes(Array("safe".utf8)))
        }
        return router
    }
}
