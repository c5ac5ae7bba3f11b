import Foundation
import XCTest

@testable import JobStore

#if canImport(Glibc)
    import Glibc
#endif

/// Finds a system binary (Debian puts redis-server and nginx in /usr/bin or /usr/sbin).
func findSystemBinary(_ name: String, package: String) throws -> String {
    let directories =
        (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":").map(String.init)
        + ["/usr/bin", "/usr/sbin", "/usr/local/bin", "/usr/local/sbin"]
    for directory in directories where FileManager.default.isExecutableFile(atPath: directory + "/" + name) {
        return directory + "/" + name
    }
    XCTFail("\(name) is not installed: `apt-get install -y \(package)` (.ci/run installs it)")
    throw CocoaError(.fileNoSuchFile)
}

/// A real `redis-server` on a free loopback port, with its data in a temporary directory.
/// `restart()` stops it with SIGTERM (which writes the AOF out) and starts it again on the
/// same port and directory.
final class RedisServerProcess {
    let port: Int
    let directory: URL
    let appendOnly: Bool
    let extraArguments: [String]
    /// `always` (every write on disk before Redis answers) or Redis's default `everysec`.
    let appendFsync: String
    private var process: Process?
    private let binary: String

    init(appendOnly: Bool = true, appendFsync: String = "everysec", extraArguments: [String] = [], port: Int? = nil)
        throws
    {
        binary = try findSystemBinary("redis-server", package: "redis-server")
        self.port = try port ?? freeLoopbackPort()
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("octavo-redis-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        self.appendOnly = appendOnly
        self.appendFsync = appendFsync
        self.extraArguments = extraArguments
        try start()
    }

    deinit {
        stop(signal: SIGKILL)
        try? FileManager.default.removeItem(at: directory)
    }

    var url: RedisURL { RedisURL(host: "127.0.0.1", port: port) }
    var urlString: String { "redis://127.0.0.1:\(port)/0" }

    func start() throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments =
            [
                "--port", String(port), "--bind", "127.0.0.1", "--dir", directory.path, "--save", "",
                "--appendonly", appendOnly ? "yes" : "no", "--appendfsync", appendFsync,
                "--daemonize", "no", "--logfile", directory.appendingPathComponent("redis.log").path,
            ]
            + extraArguments
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        self.process = process
        // Ready when it answers (loading the AOF takes a moment after a restart).
        let probe = RedisClient(url: url, connectTimeout: 1, commandTimeout: 1)
        defer { probe.close() }
        let deadline = Date(timeIntervalSinceNow: 20)
        while Date() < deadline {
            if process.isRunning == false { break }
            do {
                _ = try probe.send("PING")
                return
            } catch RedisError.server {
                return  // up, and wants a password
            } catch {}
            Thread.sleep(forTimeInterval: 0.05)
        }
        let log = (try? String(contentsOf: directory.appendingPathComponent("redis.log"), encoding: .utf8)) ?? ""
        XCTFail("redis-server did not start on port \(port):\n\(log.suffix(2000))")
        throw CocoaError(.executableLoad)
    }

    var pid: Int32? { process?.processIdentifier }

    func stop(signal: Int32 = SIGTERM) {
        guard let process, process.isRunning else { return }
        kill(process.processIdentifier, signal)
        process.waitUntilExit()
        self.process = nil
    }

    func restart() throws {
        stop()
        try start()
    }
}

/// Waits until `condition` holds, polling.
func pollUntil(
    _ timeout: TimeInterval, _ what: String, file: StaticString = #filePath, line: UInt = #line,
    _ condition: () throws -> Bool
) rethrows {
    let deadline = Date(timeIntervalSinceNow: timeout)
    while Date() < deadline {
        if try condition() { return }
        Thread.sleep(forTimeInterval: 0.02)
    }
    XCTFail("timed out waiting for \(what)", file: file, line: line)
}

/// CPU seconds (user + system) a process has used so far, from /proc.
func cpuSeconds(ofProcess pid: Int32) -> Double {
    guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
        let close = stat.lastIndex(of: ")")
    else { return 0 }
    let fields = stat[stat.index(after: close)...].split(separator: " ")
    // After the command name: state is field 3, utime 14 and stime 15 (1-based, whole line).
    guard fields.count > 13, let user = Double(fields[11]), let system = Double(fields[12]) else { return 0 }
    return (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
}
