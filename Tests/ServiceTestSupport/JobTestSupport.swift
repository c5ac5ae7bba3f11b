import Foundation
import XCTest

@testable import JobStore

/// Base class for job store tests: a private temporary directory per test, removed afterwards,
/// and stores that are closed even when a test fails half way.
class JobStoreTestCase: XCTestCase {
    private(set) var directory: URL!
    private var openedStores: [JobStore] = []

    override func setUpWithError() throws {
        try super.setUpWithError()
        directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("octavo-jobs-\(type(of: self))-\(UUID().uuidString)", isDirectory: true)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        for store in openedStores { store.close() }
        openedStores.removeAll()
        if let directory { try? FileManager.default.removeItem(at: directory) }
        try super.tearDownWithError()
    }

    var databasePath: String { directory.appendingPathComponent("jobs.sqlite").path }

    func openStore(_ configuration: JobStore.Configuration = .init(), path: String? = nil) throws -> JobStore {
        let store = try JobStore(path: path ?? databasePath, configuration: configuration)
        openedStores.append(store)
        return store
    }

    /// Close and reopen, as a restarting server does (jobs still leased stay `running` in the file,
    /// exactly as after a crash).
    func reopen(_ store: JobStore, _ configuration: JobStore.Configuration = .init()) throws -> JobStore {
        store.close()
        return try openStore(configuration, path: store.path)
    }

    /// Polls `condition` until it holds or `timeout` passes (generous: the CI machine is loaded).
    func waitUntil(
        timeout: TimeInterval = 10, _ message: @autoclosure () -> String = "condition",
        file: StaticString = #filePath, line: UInt = #line, _ condition: () throws -> Bool
    ) rethrows {
        let deadline = Date(timeIntervalSinceNow: timeout)
        while Date() < deadline {
            if try condition() { return }
            usleep(2_000)
        }
        if try condition() { return }
        XCTFail("timed out waiting for \(message())", file: file, line: line)
    }
}

/// A clock the test moves by hand, for expiry.
final class FakeClock: @unchecked Sendable {
    private let lock = NSLock()
    private var current: Date

    init(_ start: Date = Date(timeIntervalSince1970: 1_700_000_000)) { current = start }

    var now: Date {
        lock.lock()
        defer { lock.unlock() }
        return current
    }

    func advance(by seconds: TimeInterval) {
        lock.lock()
        current += seconds
        lock.unlock()
    }
}

extension Data {
    static func json(_ text: String) -> Data { Data(text.utf8) }
    var string: String { String(decoding: self, as: UTF8.self) }
}

/// Collects events from a subscription until the final one (or `timeout`), on the calling thread.
func collectEvents(_ subscription: JobSubscription, timeout: TimeInterval = 10) -> [JobEvent] {
    var events: [JobEvent] = []
    let deadline = Date(timeIntervalSinceNow: timeout)
    while Date() < deadline {
        switch subscription.next(timeout: deadline.timeIntervalSinceNow) {
        case .event(let event):
            events.append(event)
            if event.isFinal { return events }
        case .timedOut, .ended:
            return events
        }
    }
    return events
}

/// The text a client following `events` shows: tokens appended, cleared on each `started`.
func renderedText(_ events: [JobEvent]) -> String {
    var text = ""
    for event in events {
        switch event {
        case .started: text = ""
        case .token(let delta): text += delta
        default: break
        }
    }
    return text
}
