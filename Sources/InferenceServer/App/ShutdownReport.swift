import Foundation
import HTTPServer
import JobStore
import Synchronization

/// What `ServerApp.shutdown` did, for the operator's log.
public struct ShutdownReport: Sendable, Equatable {
    /// HTTP connections open when the stop began (requests in flight or kept alive).
    public var openConnections = 0
    /// Connections still busy after the grace period, closed by force.
    public var forcedConnections = 0
    /// Jobs that were running and went back to the queue for the next start.
    public var requeuedJobs: [JobID] = []

    /// One line: "2 connections drained, 0 forced closed, 1 job back in the queue".
    public var summary: String {
        func count(_ n: Int, _ noun: String) -> String { "\(n) \(noun)\(n == 1 ? "" : "s")" }
        return "\(count(openConnections, "connection")) drained (\(forcedConnections) forced closed), "
            + "\(count(requeuedJobs.count, "running job")) put back in the queue"
    }

    /// Filled from the two threads that drain HTTP and jobs in parallel.
    final class Box: Sendable {
        private let report = Mutex(ShutdownReport())

        func set(http: HTTPServer.DrainReport?) {
            guard let http else { return }
            report.withLock {
                $0.openConnections = http.openConnections
                $0.forcedConnections = http.forcedClosed
            }
        }

        func set(jobs: JobRunner.StopReport?) {
            guard let jobs else { return }
            report.withLock { $0.requeuedJobs = jobs.requeued }
        }

        var value: ShutdownReport { report.withLock { $0 } }
    }
}
