import Foundation
import XCTest

#if canImport(Glibc)
    import Glibc
#endif

/// Debian's Chromium, headless, driven over the DevTools protocol on a pipe
/// (`--remote-debugging-pipe`: it reads commands from fd 3 and answers on fd 4, one JSON message
/// per NUL), so a test can load a page, act on it as a user would, and read the result.
final class HeadlessChromium {
    enum Failure: Error, CustomStringConvertible {
        case missing(String)
        case spawn(Int32)
        case closed
        case timedOut(String)
        case protocolError(String)

        var description: String {
            switch self {
            case .missing(let path): return "\(path) not found: install Debian's chromium (.ci/run does)"
            case .spawn(let code): return "cannot start chromium: errno \(code)"
            case .closed: return "chromium closed the DevTools pipe"
            case .timedOut(let what): return "timed out waiting for \(what)"
            case .protocolError(let message): return "DevTools error: \(message)"
            }
        }
    }

    static let path = "/usr/bin/chromium"

    private var pid: pid_t = 0
    private let commands: Int32
    private let replies: Int32
    private var buffer: [UInt8] = []
    private var nextID = 1
    private var session: String?
    private let profile: URL

    init(windowWidth: Int = 1280, windowHeight: Int = 900) throws {
        guard FileManager.default.isExecutableFile(atPath: Self.path) else { throw Failure.missing(Self.path) }
        profile = FileManager.default.temporaryDirectory.appendingPathComponent("chromium-\(UUID().uuidString)")
        var toChrome: [Int32] = [0, 0]
        var fromChrome: [Int32] = [0, 0]
        guard pipe(&toChrome) == 0, pipe(&fromChrome) == 0 else { throw Failure.spawn(errno) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, toChrome[0], 3)
        posix_spawn_file_actions_adddup2(&actions, fromChrome[1], 4)
        posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
        let arguments = [
            Self.path, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
            "--no-first-run", "--remote-debugging-pipe", "--user-data-dir=\(profile.path)",
            "--window-size=\(windowWidth),\(windowHeight)", "about:blank",
        ]
        var argv = arguments.map { strdup($0) } + [nil]
        defer { for pointer in argv { free(pointer) } }
        let status = posix_spawn(&pid, Self.path, &actions, nil, &argv, environ)
        close(toChrome[0])
        close(fromChrome[1])
        commands = toChrome[1]
        replies = fromChrome[0]
        guard status == 0 else { throw Failure.spawn(status) }
    }

    deinit {
        close(commands)
        close(replies)
        if pid > 0 {
            kill(pid, SIGKILL)
            var status: Int32 = 0
            waitpid(pid, &status, 0)
        }
        try? FileManager.default.removeItem(at: profile)
    }

    /// Opens `url` in a new tab and waits until it has loaded.
    func open(_ url: String, timeout: TimeInterval = 30) throws {
        let target = try send("Target.createTarget", ["url": "about:blank"], timeout: timeout)
        guard let targetID = target["targetId"] as? String else { throw Failure.protocolError("no targetId") }
        let attached = try send("Target.attachToTarget", ["targetId": targetID, "flatten": true], timeout: timeout)
        session = attached["sessionId"] as? String
        _ = try send("Page.enable", [:], timeout: timeout)
        _ = try send("Page.navigate", ["url": url], timeout: timeout)
        try waitUntil("document.readyState === 'complete'", timeout: timeout)
    }

    /// The value of a JavaScript expression in the page (promises awaited).
    func evaluate(_ expression: String, timeout: TimeInterval = 30) throws -> Any? {
        let reply = try send(
            "Runtime.evaluate", ["expression": expression, "returnByValue": true, "awaitPromise": true],
            timeout: timeout)
        if let exception = reply["exceptionDetails"] as? [String: Any] { throw Failure.protocolError("\(exception)") }
        return (reply["result"] as? [String: Any])?["value"]
    }

    /// Polls `condition` (a JavaScript expression) until it is true.
    func waitUntil(_ condition: String, timeout: TimeInterval) throws {
        let deadline = Date(timeIntervalSinceNow: timeout)
        while Date() < deadline {
            if try evaluate(condition) as? Bool == true { return }
            Thread.sleep(forTimeInterval: 0.1)
        }
        throw Failure.timedOut(condition)
    }

    /// A PNG of the page as shown.
    func screenshot() throws -> Data {
        let reply = try send("Page.captureScreenshot", ["format": "png"], timeout: 30)
        guard let base64 = reply["data"] as? String, let data = Data(base64Encoded: base64) else {
            throw Failure.protocolError("no screenshot data")
        }
        return data
    }

    private func send(_ method: String, _ params: [String: Any], timeout: TimeInterval) throws -> [String: Any] {
        let id = nextID
        nextID += 1
        var message: [String: Any] = ["id": id, "method": method, "params": params]
        if let session, !method.hasPrefix("Target.") { message["sessionId"] = session }
        var bytes = [UInt8](try JSONSerialization.data(withJSONObject: message))
        bytes.append(0)
        var written = 0
        while written < bytes.count {
            let n = bytes[written...].withUnsafeBytes { write(commands, $0.baseAddress, $0.count) }
            guard n > 0 else { throw Failure.closed }
            written += n
        }
        let deadline = Date(timeIntervalSinceNow: timeout)
        while true {
            let reply = try nextMessage(until: deadline, waitingFor: method)
            guard reply["id"] as? Int == id else { continue }  // events and other replies
            if let error = reply["error"] as? [String: Any] { throw Failure.protocolError("\(method): \(error)") }
            return reply["result"] as? [String: Any] ?? [:]
        }
    }

    private func nextMessage(until deadline: Date, waitingFor what: String) throws -> [String: Any] {
        while true {
            if let end = buffer.firstIndex(of: 0) {
                let data = Data(buffer[..<end])
                buffer.removeSubrange(...end)
                return (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] ?? [:]
            }
            let remaining = deadline.timeIntervalSinceNow
            guard remaining > 0 else { throw Failure.timedOut(what) }
            var descriptor = pollfd(fd: replies, events: Int16(POLLIN), revents: 0)
            guard poll(&descriptor, 1, Int32(min(remaining, 1) * 1000)) >= 0 else { throw Failure.closed }
            guard descriptor.revents != 0 else { continue }
            var chunk = [UInt8](repeating: 0, count: 65536)
            let n = read(replies, &chunk, chunk.count)
            guard n > 0 else { throw Failure.closed }
            buffer += chunk[..<n]
        }
    }
}
