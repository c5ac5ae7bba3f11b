import Foundation
import HTTPServer

/// Runs queued jobs in-process: a fixed pool of worker threads per job type, each claiming the
/// oldest queued job of its type and passing it to the handler.
///
/// Workers are dedicated threads rather than Dispatch or Swift concurrency because executors
/// run long, blocking, CPU-bound inference; parking them on the shared pools would starve
/// everything else in the process.
///
/// Lifecycle: `start()` recovers what a previous process left unfinished and starts the
/// workers and the TTL sweep; `stop(gracePeriod:)` lets in-flight jobs finish for a while,
/// puts the rest back in the queue, and closes the store.
///
/// Sendable by hand: configuration is set before `start`; worker state is only touched under the runner's
/// lock.
public final class JobRunner: @unchecked Sendable {
    /// Runs one job and returns its result (opaque JSON).
    ///
    /// Report generated text with `progress.token(_:)`. Check `cancellation` between tokens and
    /// stop (throwing, e.g. `try cancellation.check()`) once it is set: the job was cancelled or
    /// the server is shutting down. Throwing marks the job failed with the error's description
    /// (or cancelled, if that is why). Called on a worker thread; may block.
    public typealias Handler =
        @Sendable (_ job: Job, _ progress: ProgressReporter, _ cancellation: CancellationFlag) throws -> Data

    public struct Configuration: Sendable {
        /// Worker threads per job type. Jobs of a type not listed here stay queued.
        public var concurrency: [String: Int]
        /// Finished jobs are deleted this long after they finish; nil keeps them forever.
        public var resultTTL: TimeInterval?
        /// How often the TTL sweep runs.
        public var sweepInterval: TimeInterval
        /// Idle workers look for work at least this often even without a wake-up (a safety net;
        /// submissions through the store wake them at once).
        public var idlePollInterval: TimeInterval
        /// Where the runner reports problems it cannot hand to anyone (a result it could not
        /// record, a failed sweep). Defaults to standard error.
        public var log: @Sendable (String) -> Void

        public init(
            concurrency: [String: Int], resultTTL: TimeInterval? = 24 * 3600, sweepInterval: TimeInterval = 300,
            idlePollInterval: TimeInterval = 1,
            log: @escaping @Sendable (String) -> Void = { FileHandle.standardError.write(Data("[jobs] \($0)\n".utf8)) }
        ) {
            self.concurrency = concurrency
            self.resultTTL = resultTTL
            self.sweepInterval = sweepInterval
            self.idlePollInterval = idlePollInterval
            self.log = log
        }
    }

    /// What `stop` could not finish within the grace period and put back in the queue.
    public struct StopReport: Sendable, Equatable {
        public var requeued: [JobID] = []
    }

    public let store: any JobStorage
    public let configuration: Configuration
    private let handler: Handler

    private enum State { case idle, running, stopped }
    private let condition = NSCondition()
    private var state = State.idle
    private var stopping = false
    private var inFlight: [JobID: JobLease] = [:]
    private var claiming = 0
    private var sweepTimer: DispatchSourceTimer?

    public init(store: any JobStorage, configuration: Configuration, handler: @escaping Handler) {
        self.store = store
        self.configuration = configuration
        self.handler = handler
    }

    public convenience init(store: any JobStorage, concurrency: [String: Int], handler: @escaping Handler) {
        self.init(store: store, configuration: Configuration(concurrency: concurrency), handler: handler)
    }

    /// Recovers jobs left unfinished by a previous process (see `JobStore.recoverUnfinished`),
    /// then starts the workers and the expiry sweep. Call once.
    @discardableResult
    public func start() throws -> JobStore.RecoveryReport {
        condition.lock()
        defer { condition.unlock() }
        guard state == .idle else { throw JobStoreError.invalidArgument("a JobRunner can only be started once") }
        if let bad = configuration.concurrency.first(where: { $0.value < 1 }) {
            throw JobStoreError.invalidArgument("concurrency for job type '\(bad.key)' must be at least 1")
        }
        // Before any worker exists, so every `running` row really is an orphan.
        let report = try store.recoverUnfinished()
        state = .running
        for (type, count) in configuration.concurrency.sorted(by: { $0.key < $1.key }) {
            for index in 0..<count {
                let thread = Thread { [self] in workerLoop(type: type) }
                thread.name = "jobs.\(type).\(index)"
                thread.start()
            }
        }
        if let ttl = configuration.resultTTL {
            let timer = DispatchSource.makeTimerSource(queue: DispatchQueue(label: "octavo.jobs.sweep", qos: .utility))
            timer.schedule(deadline: .now(), repeating: configuration.sweepInterval)
            timer.setEventHandler { [store, log = configuration.log] in
                do { try store.expire(olderThan: ttl) } catch JobStoreError.closed {} catch {
                    log("expiry sweep failed: \(error)")
                }
            }
            timer.resume()
            sweepTimer = timer
        }
        return report
    }

    /// Stops taking jobs, waits up to `gracePeriod` seconds for running ones to finish, then
    /// puts those still running back in the queue (they run again at the next start, without
    /// counting an attempt) and sets their cancellation flags. Finally closes the store unless
    /// `closeStore` is false. Returns the jobs it re-queued.
    @discardableResult
    public func stop(gracePeriod: TimeInterval = 10, closeStore: Bool = true) -> StopReport {
        condition.lock()
        guard state == .running else {
            condition.unlock()
            if closeStore { store.close() }
            return StopReport()
        }
        state = .stopped
        stopping = true
        sweepTimer?.cancel()
        sweepTimer = nil
        condition.unlock()
        store.wakeWorkers()  // idle workers exit

        let deadline = Date(timeIntervalSinceNow: gracePeriod)
        condition.lock()
        while !inFlight.isEmpty || claiming > 0, condition.wait(until: deadline) {}
        // A claim in progress is a database call, not executor code, so it is always allowed to
        // settle: its job then is either in `inFlight` (re-queued below) or re-queued by its
        // worker, and never left `running` in a closed store.
        while claiming > 0 { condition.wait() }
        let leftovers = inFlight.values.sorted { $0.job.createdAt < $1.job.createdAt }
        condition.unlock()

        var report = StopReport()
        for lease in leftovers {
            // Re-queue first, then raise the flag: the handler's eventual outcome then finds the
            // lease gone and is dropped instead of being recorded as a failure.
            if let job = try? store.requeue(lease), job.status == .queued { report.requeued.append(job.id) }
            lease.cancellation.cancel()
        }
        if closeStore { store.close() }
        return report
    }

    /// Jobs currently being run by this runner's workers.
    public var runningJobIDs: [JobID] {
        condition.lock()
        defer { condition.unlock() }
        return Array(inFlight.keys)
    }

    private func workerLoop(type: String) {
        var claimFailing = false
        while true {
            // Read the signal's generation before looking: a submission after this point wakes us.
            let seen = store.workGeneration
            condition.lock()
            if stopping {
                condition.unlock()
                return
            }
            // Counted while claiming, so stop() cannot close the store between our claim and the
            // moment the lease is in `inFlight` (the job would be left running until recovery).
            claiming += 1
            condition.unlock()

            var lease: JobLease?
            var claimError: Error?
            do { lease = try store.claimNext(type: type) } catch { claimError = error }

            condition.lock()
            if let claimed = lease, stopping {
                condition.unlock()
                _ = try? store.requeue(claimed)
                lease = nil
                condition.lock()
            }
            claiming -= 1
            if let lease { inFlight[lease.jobID] = lease }
            let stop = stopping
            condition.broadcast()
            condition.unlock()

            if stop { return }
            if let claimError {
                if case JobStoreError.closed? = claimError as? JobStoreError { return }
                // Once per outage, not once per poll: a store that is down stays down for a while.
                if !claimFailing { configuration.log("worker for '\(type)' cannot claim jobs: \(claimError)") }
                claimFailing = true
                store.waitForWork(after: store.workGeneration, timeout: configuration.idlePollInterval)
                continue
            }
            if claimFailing {
                configuration.log("worker for '\(type)' claims jobs again")
                claimFailing = false
            }
            guard let lease else {
                store.waitForWork(after: seen, timeout: configuration.idlePollInterval)
                continue
            }

            run(lease)

            condition.lock()
            inFlight[lease.jobID] = nil
            condition.broadcast()
            condition.unlock()
        }
    }

    /// Runs one job and records its outcome. When the store cannot take the outcome (disk full,
    /// database locked), the outcome is kept and recording retried every `idlePollInterval`:
    /// giving the job back would need a write too, and running it again would waste the work.
    /// If the runner stops first, `stop` re-queues the job (or the next start recovers it).
    private func run(_ lease: JobLease) {
        let outcome = Result { try handler(lease.job, lease.progress, lease.cancellation) }
        var failedBefore = false
        while true {
            do {
                switch outcome {
                case .success(let result): try store.complete(lease, result: result)
                case .failure(let error): try store.fail(lease, message: String(describing: error))
                }
                if failedBefore {
                    configuration.log(
                        "recorded the outcome of job \(lease.jobID) now that the job store takes writes again")
                }
                return
            } catch JobStoreError.leaseLost, JobStoreError.closed {
                return  // Re-queued by stop() or the store closed: this outcome no longer counts.
            } catch {
                if !failedBefore {
                    configuration.log(
                        "could not record the outcome of job \(lease.jobID), keeping it and "
                            + "retrying: \(error)")
                    failedBefore = true
                }
                condition.lock()
                if !stopping { _ = condition.wait(until: Date(timeIntervalSinceNow: configuration.idlePollInterval)) }
                let stop = stopping
                condition.unlock()
                if stop { return }
            }
        }
    }
}
