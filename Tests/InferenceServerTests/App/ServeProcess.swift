import Foundation
import XCTest

/// A real `octavo-infer serve` process (built next to the tests), with its output read live.
final class ServeProcess {
    let process = Process()
    private let output = Pipe()
    private let errors = Pipe()
    private let condition = NSCondition()
    private var stdoutText = ""
    private var stderrText = ""

    static func executable() throws -> URL {
        var directories: [URL] = []
        if let path = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") {
            directories.append(URL(fileURLWithPath: path).deletingLastPathComponent())
        }
        for bundle in Bundle.allBundles { directories.append(bundle.bundleURL.deletingLastPathComponent()) }
        for directory in directories {
            let candidate = directory.appendingPathComponent("octavo-infer")
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
        }
        // The test target depends on octavo-infer, so it is always built: not finding it is a failure.
        XCTFail("octavo-infer is not built next to the tests (looked in \(directories.map(\.path)))")
        throw CocoaError(.fileNoSuchFile)
    }

    /// The optimized binary users run, built by `swift build -c release --product octavo-infer`
    /// (the README's test command does that before `swift test`; `OCTAVO_RELEASE_BINARY` overrides
    /// the path). Missing is a failure, not a skip: signal handling has broken in release only.
    static func releaseExecutable() throws -> URL {
        let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent()
        let path =
            ProcessInfo.processInfo.environment["OCTAVO_RELEASE_BINARY"]
            ?? packageRoot.appendingPathComponent(".build/release/octavo-infer").path
        guard FileManager.default.isExecutableFile(atPath: path) else {
            XCTFail(
                "no release binary at \(path): run 'swift build -c release --product octavo-infer' before "
                    + "'swift test'")
            throw CocoaError(.fileNoSuchFile)
        }
        return URL(fileURLWithPath: path)
    }

    /// Starts `octavo-infer serve` with `arguments`: the debug binary built next to the tests, or
    /// `executable` (the release binary) when given.
    init(_ arguments: [String], environment: [String: String] = [:], executable: URL? = nil) throws {
        process.executableURL = try executable ?? Self.executable()
        process.arguments = ["serve"] + arguments
        var env = ProcessInfo.processInfo.environment
        env["OPENBLAS_NUM_THREADS"] = "1"
        for (key, value) in environment { env[key] = value }
        process.environment = env
        process.standardOutput = output
        process.standardError = errors
        process.standardInput = FileHandle.nullDevice
        output.fileHandleForReading.readabilityHandler = { [weak self] handle in
            self?.append(handle.availableData, error: false)
        }
        errors.fileHandleForReading.readabilityHandler = { [weak self] handle in
            self?.append(handle.availableData, error: true)
        }
        try process.run()
    }

    deinit {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        output.fileHandleForReading.readabilityHandler = nil
        errors.fileHandleForReading.readabilityHandler = nil
    }

    private func append(_ data: Data, error: Bool) {
        condition.lock()
        if error {
            stderrText += String(decoding: data, as: UTF8.self)
        } else {
            stdoutText += String(decoding: data, as: UTF8.self)
        }
        condition.broadcast()
        condition.unlock()
    }

    var stdout: String {
        condition.lock()
        defer { condition.unlock() }
        return stdoutText
    }
    var stderr: String {
        condition.lock()
        defer { condition.unlock() }
        return stderrText
    }

    /// Waits until stdout contains `text`.
    func waitFor(_ text: String, timeout: TimeInterval = 30) -> Bool {
        let deadline = Date(timeIntervalSinceNow: timeout)
        condition.lock()
        defer { condition.unlock() }
        while !stdoutText.contains(text) {
            if !condition.wait(until: deadline) { return stdoutText.contains(text) }
        }
        return true
    }

    /// The main port, from "listening on http://127.0.0.1:PORT (all models)".
    func mainPort() -> Int? {
        guard waitFor("(all models)") else { return nil }
        for line in stdout.split(separator: "\n") where line.contains("(all models)") {
            guard let url = line.split(separator: " ").first(where: { $0.hasPrefix("http://") }) else { continue }
            return url.split(separator: ":").last.flatMap { Int($0) }
        }
        return nil
    }

    func signal(_ number: Int32) { kill(process.processIdentifier, number) }

    /// Exit status, waiting up to `timeout`; nil if still running.
    func waitForExit(timeout: TimeInterval = 30) -> Int32? {
        let deadline = Date(timeIntervalSinceNow: timeout)
        while process.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.02) }
        return process.isRunning ? nil : process.terminationStatus
    }
}
