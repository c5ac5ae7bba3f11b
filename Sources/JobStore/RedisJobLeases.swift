import Foundation
import HTTPServer

/// The worker side of `RedisJobStore`: claiming, renewing, finishing and giving back jobs.
extension RedisJobStore {
    /// Takes a job abandoned by a dead server if there is one, else waits up to `claimBlock` for
    /// a new entry on any queue of `type` this server serves. Waits itself, so the runner does not
    /// (`waitForWork` returns at once).
    public func claimNext(type: String) throws -> JobLease? {
        if closedFlag { throw JobStoreError.closed }
        let queues = queues(for: type)
        guard !queues.isEmpty else {
            // No model here runs this type: idle like a worker whose queue is empty.
            signal.wait(after: signal.current, timeout: configuration.claimBlock)
            return nil
        }
        do {
            return try redis { try claim(from: queues) }
        } catch JobStoreError.unavailable(let backend, let reason) {
            // Redis is away: do not spin on refused connections.
            signal.wait(after: signal.current, timeout: configuration.claimBlock)
            throw JobStoreError.unavailable(backend: backend, reason: reason)
        }
    }

    private func claim(from queues: [String]) throws -> JobLease? {
        for queue in queues {
            try ensureGroup(queue)
            if let lease = try reclaimAbandoned(queue) { return lease }
        }
        let command =
            [
                "XREADGROUP", "GROUP", Self.group, configuration.consumerName, "COUNT", "1",
                "BLOCK", String(Int(configuration.claimBlock * 1000)), "STREAMS",
            ] + queues + queues.map { _ in ">" }
        let reply: RedisValue
        do {
            reply = try client.send(command.map { Data($0.utf8) }, extraTimeout: configuration.claimBlock)
        } catch let error as RedisError where error.serverErrorCode == "NOGROUP" {
            for queue in queues { forgetGroup(queue) }  // Redis lost its data (restarted without persistence)
            return nil
        }
        // [[queue, [[entry, [field, value...]]]], ...]: COUNT is per stream, so up to one per queue.
        var lease: JobLease?
        for stream in reply.array ?? [] {
            guard let parts = stream.array, parts.count == 2, let queue = parts[0].string,
                let entry = parts[1].array?.first?.array, entry.count == 2, let entryID = entry[0].string,
                let idText = entry[1].fieldMap?["id"],
                let id = JobID(rawValue: String(decoding: idText, as: UTF8.self))
            else { continue }
            if lease == nil {
                lease = try start(id, entry: entryID, queue: queue, reclaimed: false)
            } else {
                // A worker takes one job: give the others back (to the end of their queue).
                _ = try eval(
                    RedisJobScripts.release, keys: [jobKey(id), queue],
                    arguments: [entryID, Self.group, id.rawValue].map { Data($0.utf8) })
            }
        }
        return lease
    }

    /// Takes over one entry whose consumer has not renewed it within the lease (its server died).
    private func reclaimAbandoned(_ queue: String) throws -> JobLease? {
        lock.lock()
        let due = (nextAutoclaim[queue] ?? 0) <= SocketIO.now()
        lock.unlock()
        guard due else { return nil }
        let leaseMilliseconds = String(Int(configuration.lease * 1000))
        let reply = try client.send(
            "XAUTOCLAIM", queue, Self.group, configuration.consumerName, leaseMilliseconds, "0-0",
            "COUNT", "1")
        if let entry = reply.array?.dropFirst().first?.array?.first?.array, entry.count == 2,
            let entryID = entry[0].string,
            let idText = entry[1].fieldMap?["id"], let id = JobID(rawValue: String(decoding: idText, as: UTF8.self))
        {
            return try start(id, entry: entryID, queue: queue, reclaimed: true)
        }
        // Nothing abandoned: look again in a while (at once after a find: a dead server leaves several).
        lock.lock()
        nextAutoclaim[queue] = SocketIO.deadline(after: min(1, configuration.lease / 4))
        lock.unlock()
        return nil
    }

    private func start(_ id: JobID, entry: String, queue: String, reclaimed: Bool) throws -> JobLease? {
        lock.lock()
        leaseCounter += 1
        let token = leaseCounter
        lock.unlock()
        let leaseName = "\(configuration.consumerName):\(token)"
        let giveUp =
            "Gave up after \(configuration.maxAttempts) attempts: the server running this job stopped "
            + "(crashed or was killed) each time."
        let reply = try eval(
            RedisJobScripts.claim, keys: [jobKey(id), eventsKey(id), queue],
            arguments: [
                entry, leaseName, now, String(configuration.maxAttempts), Self.group, ttlMilliseconds,
                reclaimed ? "1" : "0", giveUp, prefix,
            ].map { Data($0.utf8) })
        guard let job = Self.jobFromScript(id, reply, expecting: "started") else { return nil }
        let lease = RedisActiveLease(job: job, token: token, name: leaseName, queue: queue, entry: entry)
        lock.lock()
        active[id] = lease
        lock.unlock()
        let progress = ProgressReporter(
            jobID: id, append: { [weak lease] in lease?.append($0) },
            text: { [weak lease] in lease?.text ?? "" },
            paragraph: { [weak lease] in lease?.appendParagraph($0) })
        return JobLease(job: job, cancellation: lease.cancellation, progress: progress, token: token)
    }

    @discardableResult
    public func complete(_ lease: JobLease, result: Data) throws -> Job {
        try finish(lease, status: .succeeded, result: result, message: "")
    }

    @discardableResult
    public func fail(_ lease: JobLease, message: String) throws -> Job {
        try finish(lease, status: .failed, result: Data(), message: message)
    }

    /// Stores the outcome: flushes the lease's last text, then the guarded finish script.
    /// Connection failures are retried for up to a lease, so a Redis restart does not cost a
    /// finished job; after that the job is left for another server to reclaim and run again.
    private func finish(_ lease: JobLease, status: JobStatus, result: Data, message: String) throws -> Job {
        guard let owned = activeLease(lease.jobID), owned.token == lease.token else {
            throw JobStoreError.leaseLost(lease.jobID, status: nil)
        }
        let id = lease.jobID
        let deadline = SocketIO.deadline(after: configuration.lease)
        let text = owned.takePending()
        let paragraphs = owned.takePendingParagraphs()
        while true {
            do {
                // The keeper may be writing this lease's earlier text: the outcome goes after it.
                flushLock.lock()
                defer { flushLock.unlock() }
                var commands: [[Data]] = []
                if !text.isEmpty { commands.append(tokenCommand(id, lease: owned.name, text: text)) }
                commands += paragraphs.map { paragraphCommand(id, lease: owned.name, json: $0) }
                commands.append(
                    evalCommand(
                        RedisJobScripts.finish, keys: [jobKey(id), eventsKey(id), owned.queue],
                        arguments: [
                            Data(owned.name.utf8), Data(status.rawValue.utf8), result,
                            Data(message.utf8), Data(now.utf8), Data(ttlMilliseconds.utf8),
                            Data(Self.group.utf8), Data(prefix.utf8),
                        ]))
                let reply = try client.pipeline(commands).last!.throwingError()
                removeActive(id, token: owned.token)
                if let job = Self.jobFromScript(id, reply, expecting: "ok")
                    ?? Self.jobFromScript(id, reply, expecting: "already")
                {
                    return job
                }
                throw JobStoreError.leaseLost(id, status: reply.array?.last?.string.flatMap(JobStatus.init(rawValue:)))
            } catch let error as RedisError where error.isConnectionProblem && SocketIO.now() < deadline && !closedFlag
            {
                Thread.sleep(forTimeInterval: 0.25)
            } catch let error as RedisError {
                removeActive(id, token: owned.token)
                throw JobStoreError.unavailable(backend: "redis at \(client.url)", reason: error.description)
            }
        }
    }

    @discardableResult
    public func requeue(_ lease: JobLease) throws -> Job {
        guard let owned = activeLease(lease.jobID), owned.token == lease.token else {
            throw JobStoreError.leaseLost(lease.jobID, status: nil)
        }
        removeActive(lease.jobID, token: owned.token)
        let id = lease.jobID
        let reply = try redis {
            try eval(
                RedisJobScripts.requeue, keys: [jobKey(id), eventsKey(id), owned.queue],
                arguments: [owned.name, now, ttlMilliseconds, Self.group, prefix, id.rawValue].map { Data($0.utf8) })
        }
        guard let job = Self.jobFromScript(id, reply, expecting: "ok") else {
            throw JobStoreError.leaseLost(id, status: nil)
        }
        if job.status == .queued { signal.notify() }
        return job
    }

    /// Nothing to do at startup: jobs a dead server left running are taken over by `claimNext`
    /// once their lease runs out, by whichever server asks first.
    public func recoverUnfinished() throws -> JobStore.RecoveryReport { JobStore.RecoveryReport() }

    /// Redis expires finished jobs itself (`resultTTL`).
    public func expire(olderThan age: TimeInterval) throws -> Int { 0 }

    // MARK: - Keeper

    /// Every `flushInterval`: writes pending text; every half second checks for cancels and lost
    /// leases; every third of the lease renews each running job's queue entry (`XCLAIM ... JUSTID`).
    func keeperLoop() {
        var lastCheck: UInt64 = 0
        var lastRenewal = SocketIO.now()
        while !closedFlag {
            keeperWake.lock()
            _ = keeperWake.wait(until: Date(timeIntervalSinceNow: configuration.flushInterval))
            keeperWake.unlock()
            lock.lock()
            let leases = Array(active.values)
            lock.unlock()
            if leases.isEmpty || closedFlag { continue }
            let current = SocketIO.now()
            let check = current &- lastCheck >= 500_000_000
            let renew = Double(current &- lastRenewal) / 1e9 >= configuration.lease / 3
            flushLock.lock()
            var commands: [[Data]] = []
            var actions: [(lease: RedisActiveLease, action: KeeperAction)] = []
            for lease in leases {
                let text = lease.takePending()
                if !text.isEmpty {
                    commands.append(tokenCommand(lease.jobID, lease: lease.name, text: text))
                    actions.append((lease, .writeText(text)))
                }
                for json in lease.takePendingParagraphs() {
                    commands.append(paragraphCommand(lease.jobID, lease: lease.name, json: json))
                    actions.append((lease, .writeParagraph(json)))
                }
                if check {
                    commands.append(["HMGET", jobKey(lease.jobID), "cancel", "lease"].map { Data($0.utf8) })
                    actions.append((lease, .checkCancel))
                }
                if renew {
                    commands.append(
                        evalCommand(
                            RedisJobScripts.renew, keys: [jobKey(lease.jobID), lease.queue],
                            arguments: [lease.name, Self.group, configuration.consumerName, lease.entry]
                                .map { Data($0.utf8) }))
                    actions.append((lease, .renew))
                }
            }
            do {
                let replies = try client.pipeline(commands)
                for ((lease, action), reply) in zip(actions, replies) {
                    switch action {
                    case .writeText, .writeParagraph, .renew: if reply.integer == 0 { lease.cancellation.cancel() }  // lease gone
                    case .checkCancel:
                        let values = reply.array ?? []
                        if values.first?.string == "1" { lease.cancellation.cancel() }
                        // Taken over by another server (this one was presumed dead): stop; its outcome would be refused.
                        if values.count == 2, values[1].string != lease.name { lease.cancellation.cancel() }
                    }
                }
                if check { lastCheck = current }
                if renew { lastRenewal = current }
            } catch {
                // Redis is away: keep the text for the next flush; renewals retry next round.
                for (lease, action) in actions.reversed() {
                    if case .writeText(let text) = action { lease.restorePending(text) }
                    if case .writeParagraph(let json) = action { lease.restorePendingParagraph(json) }
                }
            }
            flushLock.unlock()
        }
    }

    func paragraphCommand(_ id: JobID, lease: String, json: Data) -> [Data] {
        evalCommand(RedisJobScripts.paragraph, keys: [jobKey(id), eventsKey(id)], arguments: [Data(lease.utf8), json])
    }

    func tokenCommand(_ id: JobID, lease: String, text: String) -> [Data] {
        evalCommand(
            RedisJobScripts.token, keys: [jobKey(id), eventsKey(id)], arguments: [Data(lease.utf8), Data(text.utf8)])
    }
}

/// What the keeper does for one running job in one round.
private enum KeeperAction {
    case writeText(String)
    case writeParagraph(Data)
    case checkCancel
    case renew
}

/// A job this process runs: its lease in Redis and the text not yet written there.
///
/// Sendable by hand: every mutable field is read and written under `lock`.
final class RedisActiveLease: @unchecked Sendable {
    let job: Job
    let token: UInt64
    /// The lease's name in the job record (`consumer:counter`), unique across servers.
    let name: String
    let queue: String
    let entry: String
    let cancellation = CancellationFlag()
    private let lock = NSLock()
    private var pending = ""
    private var fullText = ""
    private var pendingParagraphs: [Data] = []

    init(job: Job, token: UInt64, name: String, queue: String, entry: String) {
        self.job = job
        self.token = token
        self.name = name
        self.queue = queue
        self.entry = entry
    }

    var jobID: JobID { job.id }

    func append(_ delta: String) {
        lock.lock()
        pending += delta
        fullText += delta
        lock.unlock()
    }

    var text: String {
        lock.lock()
        defer { lock.unlock() }
        return fullText
    }

    func takePending() -> String {
        lock.lock()
        defer { lock.unlock() }
        let text = pending
        pending = ""
        return text
    }

    func appendParagraph(_ json: Data) {
        lock.lock()
        pendingParagraphs.append(json)
        lock.unlock()
    }

    func takePendingParagraphs() -> [Data] {
        lock.lock()
        defer { lock.unlock() }
        let paragraphs = pendingParagraphs
        pendingParagraphs = []
        return paragraphs
    }

    /// Puts back a paragraph a failed write took (restored last first, so the order holds).
    func restorePendingParagraph(_ json: Data) {
        lock.lock()
        pendingParagraphs.insert(json, at: 0)
        lock.unlock()
    }

    func restorePending(_ text: String) {
        lock.lock()
        pending = text + pending
        lock.unlock()
    }
}
