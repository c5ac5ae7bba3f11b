import Foundation

/// Durable jobs shared by any number of servers through one Redis (`serve --jobs-redis`).
///
/// Each job kind and model has a queue stream with one consumer group; every server is a
/// consumer and reads only the queues of the models it serves (`setServedModels`). A job's
/// record, events and idempotency key live in Redis too, so any server answers
/// `GET /v1/jobs/{id}` and its event stream. Every state change is one Lua script
/// (`RedisJobScripts`), atomic and guarded by the job's current lease, so a job has exactly one
/// stored outcome even when it ran twice.
///
/// Leases: a worker's queue entry stays pending in the group while it runs; a background
/// keeper renews it (`XCLAIM ... JUSTID` resets its idle time) every third of `lease`, flushes
/// generated text to the events stream, and notices cancels and lost leases. When a server
/// dies its entries go idle, and after `lease` another server takes them over with
/// `XAUTOCLAIM` and runs the job again (up to `maxAttempts` starts). The entry is acknowledged
/// by the script that stores the outcome.
///
/// Redis unreachable: calls throw `JobStoreError.unavailable` (HTTP 503, nothing promised);
/// recording an outcome is retried for up to `lease` before the job is left to be reclaimed.
public final class RedisJobStore: JobStorage, @unchecked Sendable {
    public struct Configuration: Sendable {
        /// Prefix of every key, so several deployments can share one database.
        public var keyPrefix: String
        /// How long a job may go without renewal before another server takes it over.
        public var lease: TimeInterval
        /// Finished jobs (record, events, idempotency key) expire this long after finishing.
        public var resultTTL: TimeInterval?
        /// A job taken over from dead servers this many times fails instead of running again.
        public var maxAttempts: Int
        /// How long an idle worker waits in `XREADGROUP BLOCK` for a new job.
        public var claimBlock: TimeInterval
        /// How often generated text is written to the events stream (and cancels are noticed).
        public var flushInterval: TimeInterval
        /// This process's consumer name in the groups; unique per process.
        public var consumerName: String
        public var clock: @Sendable () -> Date

        public init(keyPrefix: String = "octavo", lease: TimeInterval = 30, resultTTL: TimeInterval? = 24 * 3600,
                    maxAttempts: Int = 3, claimBlock: TimeInterval = 1, flushInterval: TimeInterval = 0.1,
                    consumerName: String? = nil, clock: @escaping @Sendable () -> Date = { Date() }) {
            self.keyPrefix = keyPrefix
            self.lease = lease
            self.resultTTL = resultTTL
            self.maxAttempts = maxAttempts
            self.claimBlock = claimBlock
            self.flushInterval = flushInterval
            self.consumerName = consumerName ?? Self.defaultConsumerName()
            self.clock = clock
        }

        static func defaultConsumerName() -> String {
            let host = ProcessInfo.processInfo.hostName
            return "\(host)-\(getpid())-\(String(UInt32.random(in: 0...UInt32.max), radix: 16))"
        }
    }

    public let client: RedisClient
    public let configuration: Configuration
    static let group = "octavo-workers"

    private let healthClient: RedisClient
    private let lock = NSLock()
    private var servedModels: [String] = [""]
    private var active: [JobID: RedisActiveLease] = [:]
    private var followers: [ObjectIdentifier: EventBuffer] = [:]
    private var knownGroups: Set<String> = []
    private var nextAutoclaim: [String: UInt64] = [:]
    private var leaseCounter: UInt64 = 0
    private var isClosed = false
    private let signal = QueueSignal()
    private let keeperWake = NSCondition()
    /// Serialises writes of a lease's text with the script that finishes it.
    let flushLock = NSLock()

    /// Connects lazily: a Redis that is down at startup makes calls fail (and `/health` say
    /// so) until it is back, instead of stopping the server.
    public init(url: RedisURL, configuration: Configuration = Configuration()) throws {
        guard configuration.lease >= 1 else { throw JobStoreError.invalidArgument("the job lease must be at least 1 second") }
        guard configuration.maxAttempts >= 1 else { throw JobStoreError.invalidArgument("maxAttempts must be at least 1") }
        self.configuration = configuration
        client = RedisClient(url: url, connectTimeout: 2, commandTimeout: 5, maxIdleConnections: 64)
        healthClient = RedisClient(url: url, connectTimeout: 1, commandTimeout: 1, maxIdleConnections: 1)
        let keeper = Thread { [weak self] in self?.keeperLoop() }
        keeper.name = "jobs.redis.keeper"
        keeper.start()
    }

    deinit { close() }

    /// The models whose queues this server's workers read ("" is the queue of jobs whose params
    /// name no model).
    public func setServedModels(_ models: [String]) {
        lock.lock()
        servedModels = models.isEmpty ? [""] : models
        lock.unlock()
    }

    // MARK: - Keys

    private var prefix: String { configuration.keyPrefix + ":" }
    func jobKey(_ id: JobID) -> String { prefix + "job:" + id.rawValue }
    func eventsKey(_ id: JobID) -> String { prefix + "events:" + id.rawValue }
    func queueKey(type: String, model: String) -> String { prefix + "queue:" + type + ":" + model }
    private func idempotencyKey(_ key: String) -> String { prefix + "idem:" + key }
    private var ttlMilliseconds: String { String(Int64((configuration.resultTTL ?? 0) * 1000)) }
    private var now: String { String(JobStore.milliseconds(configuration.clock())) }

    /// The queue a job goes to: its kind and the model its params name.
    static func model(ofParams params: Data) -> String {
        let object = try? JSONSerialization.jsonObject(with: params) as? [String: Any]
        return (object?["model"] as? String) ?? ""
    }

    // MARK: - Handlers

    public func submit(type: String, params: Data, idempotencyKey key: String? = nil) throws -> Submission {
        guard !type.isEmpty, type.utf8.count <= JobStore.maxTypeLength, !type.contains(":") else {
            throw JobStoreError.invalidArgument("job type must be 1 to \(JobStore.maxTypeLength) bytes, without ':'")
        }
        if let key, key.isEmpty || key.utf8.count > JobStore.maxIdempotencyKeyLength {
            throw JobStoreError.invalidArgument("idempotency key must be 1 to \(JobStore.maxIdempotencyKeyLength) bytes")
        }
        let id = JobID.random()
        let queue = queueKey(type: type, model: Self.model(ofParams: params))
        let reply = try redis {
            try eval(RedisJobScripts.submit,
                     keys: [key.map(idempotencyKey) ?? jobKey(id), jobKey(id), queue, eventsKey(id)],
                     arguments: [Data(id.rawValue.utf8), Data(type.utf8), params, Data((key ?? "").utf8),
                                 Data(now.utf8), Data(prefix.utf8)])
        }
        guard let values = reply.array, values.count == 2, let created = values[0].integer,
              let existing = values[1].string.flatMap(JobID.init(rawValue:)) else {
            throw JobStoreError.unavailable(backend: "redis", reason: "unexpected reply to submit: \(reply)")
        }
        if created == 1 {
            signal.notify()
            let job = Job(id: id, type: type, params: params, idempotencyKey: key, status: .queued, attempts: 0,
                          cancelRequested: false, result: nil, errorMessage: nil, partialText: nil,
                          createdAt: configuration.clock(), startedAt: nil, finishedAt: nil)
            return Submission(job: job, created: true)
        }
        guard let job = try get(existing) else {
            throw JobStoreError.unavailable(backend: "redis", reason: "job \(existing) expired while being resubmitted")
        }
        guard job.type == type, JobStore.sameJSON(job.params, params) else {
            throw JobStoreError.idempotencyConflict(key: key ?? "", existingJobID: existing)
        }
        return Submission(job: job, created: false)
    }

    public func get(_ id: JobID) throws -> Job? {
        let fields = try redis { try client.send([Data("HGETALL".utf8), Data(jobKey(id).utf8)]) }.fieldMap
        guard let fields, !fields.isEmpty, var job = Self.decodeJob(id, fields) else { return nil }
        if job.status == .running { job.partialText = try runningText(of: id) }
        return job
    }

    @discardableResult
    public func cancel(_ id: JobID) throws -> Job {
        let reply = try redis {
            try eval(RedisJobScripts.cancel, keys: [jobKey(id), eventsKey(id)],
                     arguments: [now, ttlMilliseconds, Self.group, prefix].map { Data($0.utf8) })
        }
        guard let job = Self.jobFromScript(id, reply, expecting: "ok") else { throw JobStoreError.jobNotFound(id) }
        if job.cancelRequested { activeLease(id)?.cancellation.cancel() }
        return job
    }

    public func subscribe(_ id: JobID) throws -> JobSubscription {
        let (job, entries): (Job?, [(String, JobEvent)]) = try redis {
            let replies = try client.pipeline([["HGETALL", jobKey(id)], ["XRANGE", eventsKey(id), "-", "+"]])
            let fields = try replies[0].throwingError().fieldMap ?? [:]
            let job = fields.isEmpty ? nil : Self.decodeJob(id, fields)
            return (job, Self.decodeEvents(try replies[1].throwingError()))
        }
        guard let job else { throw JobStoreError.jobNotFound(id) }
        let replay = Self.replay(job: job, events: entries.map(\.1))
        let buffer = EventBuffer(replay: replay)
        if buffer.isEnded || job.status.isFinished {
            return JobSubscription(jobID: id, buffer: buffer, onCancel: nil)
        }
        lock.lock()
        if isClosed {
            lock.unlock()
            buffer.end()
            return JobSubscription(jobID: id, buffer: buffer, onCancel: nil)
        }
        followers[ObjectIdentifier(buffer)] = buffer
        lock.unlock()
        let start = entries.last?.0 ?? "0-0"
        let thread = Thread { [weak self] in self?.follow(id, from: start, into: buffer) }
        thread.name = "jobs.redis.events"
        thread.start()
        return JobSubscription(jobID: id, buffer: buffer, onCancel: nil)
    }

    // MARK: - Workers

    public func claimNext(type: String) throws -> JobLease? {
        lock.lock()
        let models = servedModels
        let closed = isClosed
        lock.unlock()
        if closed { throw JobStoreError.closed }
        return try redis {
            let queues = models.map { queueKey(type: type, model: $0) }
            for queue in queues {
                try ensureGroup(queue)
                if let lease = try reclaimAbandoned(queue) { return lease }
            }
            // Only a single queue can wait: XREADGROUP's COUNT is per stream, and a worker takes one job.
            let block = queues.count == 1 ? Int(configuration.claimBlock * 1000) : nil
            for queue in queues {
                var command = ["XREADGROUP", "GROUP", Self.group, configuration.consumerName, "COUNT", "1"]
                if let block { command += ["BLOCK", String(block)] }
                command += ["STREAMS", queue, ">"]
                let reply: RedisValue
                do {
                    reply = try client.send(command.map { Data($0.utf8) }, extraTimeout: configuration.claimBlock)
                } catch let error as RedisError where error.serverErrorCode == "NOGROUP" {
                    forgetGroup(queue)  // Redis lost its data (restarted without persistence)
                    continue
                }
                // [[queue, [[entry, [field, value...]]]]]
                guard let entry = reply.array?.first?.array?.last?.array?.first?.array, entry.count == 2,
                      let entryID = entry[0].string, let idText = entry[1].fieldMap?["id"],
                      let id = JobID(rawValue: String(decoding: idText, as: UTF8.self)) else { continue }
                if let lease = try start(id, entry: entryID, queue: queue, reclaimed: false) { return lease }
            }
            return nil
        }
    }

    /// Takes over one entry whose consumer has not renewed it within the lease (its server died).
    private func reclaimAbandoned(_ queue: String) throws -> JobLease? {
        lock.lock()
        let due = (nextAutoclaim[queue] ?? 0) <= SocketIO.now()
        lock.unlock()
        guard due else { return nil }
        let leaseMilliseconds = String(Int(configuration.lease * 1000))
        let reply = try client.send("XAUTOCLAIM", queue, Self.group, configuration.consumerName, leaseMilliseconds, "0-0",
                                    "COUNT", "1")
        if let entry = reply.array?.dropFirst().first?.array?.first?.array, entry.count == 2, let entryID = entry[0].string,
           let idText = entry[1].fieldMap?["id"], let id = JobID(rawValue: String(decoding: idText, as: UTF8.self)) {
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
        let giveUp = "Gave up after \(configuration.maxAttempts) attempts: the server running this job stopped (crashed or was killed) each time."
        let reply = try eval(RedisJobScripts.claim, keys: [jobKey(id), eventsKey(id), queue],
                             arguments: [entry, leaseName, now, String(configuration.maxAttempts), Self.group, ttlMilliseconds,
                                         reclaimed ? "1" : "0", giveUp, prefix].map { Data($0.utf8) })
        guard let job = Self.jobFromScript(id, reply, expecting: "started") else { return nil }
        let lease = RedisActiveLease(job: job, token: token, name: leaseName, queue: queue, entry: entry)
        lock.lock()
        active[id] = lease
        lock.unlock()
        let progress = ProgressReporter(jobID: id, append: { [weak lease] in lease?.append($0) },
                                        text: { [weak lease] in lease?.text ?? "" })
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
        flushLock.lock()
        defer { flushLock.unlock() }
        let text = owned.takePending()
        while true {
            do {
                var commands: [[Data]] = []
                if !text.isEmpty { commands.append(tokenCommand(id, lease: owned.name, text: text)) }
                commands.append(evalCommand(RedisJobScripts.finish, keys: [jobKey(id), eventsKey(id), owned.queue],
                                            arguments: [Data(owned.name.utf8), Data(status.rawValue.utf8), result,
                                                        Data(message.utf8), Data(now.utf8), Data(ttlMilliseconds.utf8),
                                                        Data(Self.group.utf8), Data(prefix.utf8)]))
                let reply = try client.pipeline(commands).last!.throwingError()
                removeActive(id, token: owned.token)
                if let job = Self.jobFromScript(id, reply, expecting: "ok") ?? Self.jobFromScript(id, reply, expecting: "already") {
                    return job
                }
                throw JobStoreError.leaseLost(id, status: reply.array?.last?.string.flatMap(JobStatus.init(rawValue:)))
            } catch let error as RedisError where error.isConnectionProblem && SocketIO.now() < deadline && !closedFlag {
                Thread.sleep(forTimeInterval: 0.25)
            } catch let error as RedisError {
                removeActive(id, token: owned.token)
                throw JobStoreError.unavailable(backend: "redis", reason: error.description)
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
            try eval(RedisJobScripts.requeue, keys: [jobKey(id), eventsKey(id), owned.queue],
                     arguments: [owned.name, now, ttlMilliseconds, Self.group, prefix, id.rawValue].map { Data($0.utf8) })
        }
        guard let job = Self.jobFromScript(id, reply, expecting: "ok") else { throw JobStoreError.leaseLost(id, status: nil) }
        if job.status == .queued { signal.notify() }
        return job
    }

    /// Nothing to do at startup: jobs a dead server left running are taken over by `claimNext`
    /// once their lease runs out, by whichever server asks first.
    public func recoverUnfinished() throws -> JobStore.RecoveryReport { JobStore.RecoveryReport() }

    /// Redis expires finished jobs itself (`resultTTL`).
    public func expire(olderThan age: TimeInterval) throws -> Int { 0 }

    public var workGeneration: UInt64 { signal.current }

    public func waitForWork(after generation: UInt64, timeout: TimeInterval) {
        lock.lock()
        let blocking = servedModels.count == 1
        lock.unlock()
        // A single-queue claim already waited in XREADGROUP BLOCK.
        if !blocking { signal.wait(after: generation, timeout: min(timeout, configuration.claimBlock)) }
    }

    public func wakeWorkers() { signal.notify() }

    public func health() -> JobStorageHealth {
        var health = JobStorageHealth(backend: "redis", location: client.url.description, state: "ok", error: nil)
        if closedFlag {
            health.state = "closed"
            return health
        }
        do {
            _ = try healthClient.send("PING")
        } catch {
            health.state = "unavailable"
            health.error = String(describing: error)
        }
        return health
    }

    /// Stops the keeper and every event follower, and closes the connections. Jobs still leased
    /// stay running in Redis and are taken over by other servers after their lease.
    public func close() {
        lock.lock()
        guard !isClosed else { lock.unlock(); return }
        isClosed = true
        let buffers = Array(followers.values)
        followers.removeAll()
        active.removeAll()
        lock.unlock()
        for buffer in buffers { buffer.end() }
        keeperWake.lock()
        keeperWake.broadcast()
        keeperWake.unlock()
        signal.notify()
        client.close()
        healthClient.close()
    }

    // MARK: - Leases

    var closedFlag: Bool {
        lock.lock()
        defer { lock.unlock() }
        return isClosed
    }

    private func activeLease(_ id: JobID) -> RedisActiveLease? {
        lock.lock()
        defer { lock.unlock() }
        return active[id]
    }

    private func removeActive(_ id: JobID, token: UInt64) {
        lock.lock()
        if active[id]?.token == token { active[id] = nil }
        lock.unlock()
    }

    /// Every `flushInterval`: writes pending text; every half second checks for cancels and lost
    /// leases; every third of the lease renews each running job's queue entry.
    private func keeperLoop() {
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
            var actions: [(RedisActiveLease, String, String)] = []  // lease, kind, text
            for lease in leases {
                let text = lease.takePending()
                if !text.isEmpty {
                    commands.append(tokenCommand(lease.jobID, lease: lease.name, text: text))
                    actions.append((lease, "token", text))
                }
                if check {
                    commands.append(["HMGET", jobKey(lease.jobID), "cancel", "lease"].map { Data($0.utf8) })
                    actions.append((lease, "check", ""))
                }
                if renew {
                    commands.append(["XCLAIM", lease.queue, Self.group, configuration.consumerName, "0", lease.entry, "JUSTID"]
                        .map { Data($0.utf8) })
                    actions.append((lease, "renew", ""))
                }
            }
            do {
                let replies = try client.pipeline(commands)
                for ((lease, kind, _), reply) in zip(actions, replies) {
                    switch kind {
                    case "token": if reply.integer == 0 { lease.cancellation.cancel() }
                    case "check":
                        let values = reply.array ?? []
                        if values.first?.string == "1" { lease.cancellation.cancel() }
                        // Taken over by another server (we were presumed dead): stop, its outcome will be refused.
                        if values.count == 2, values[1].string != lease.name { lease.cancellation.cancel() }
                    default: break
                    }
                }
                if check { lastCheck = current }
                if renew { lastRenewal = current }
            } catch {
                // Redis is away: keep the text for the next flush; renewals retry next round.
                for (lease, kind, text) in actions.reversed() where kind == "token" { lease.restorePending(text) }
            }
            flushLock.unlock()
        }
    }

    private func tokenCommand(_ id: JobID, lease: String, text: String) -> [Data] {
        evalCommand(RedisJobScripts.token, keys: [jobKey(id), eventsKey(id)], arguments: [Data(lease.utf8), Data(text.utf8)])
    }

    // MARK: - Events

    /// Follows a job's events stream into `buffer` until the final event, a cancel or close.
    private func follow(_ id: JobID, from start: String, into buffer: EventBuffer) {
        defer {
            lock.lock()
            followers[ObjectIdentifier(buffer)] = nil
            lock.unlock()
        }
        var last = start
        let block = 1000
        while !buffer.isEnded && !closedFlag {
            do {
                let reply = try client.send(["XREAD", "COUNT", "256", "BLOCK", String(block), "STREAMS", eventsKey(id), last]
                    .map { Data($0.utf8) }, extraTimeout: Double(block) / 1000)
                guard let entries = reply.array?.first?.array?.last else {
                    // Nothing new: end if the job is gone (expired) so the thread does not linger.
                    if try client.send("EXISTS", jobKey(id)).integer == 0 { buffer.end() }
                    continue
                }
                for (entryID, event) in Self.decodeEvents(entries) {
                    last = entryID
                    buffer.push(event)
                }
            } catch {
                Thread.sleep(forTimeInterval: 0.5)  // Redis away: keep the client waiting, retry
            }
        }
    }

    /// The text of the job's current run, from its events since the last `started`.
    private func runningText(of id: JobID) throws -> String {
        if let lease = activeLease(id) { return lease.text }
        let events = Self.decodeEvents(try client.send("XRANGE", eventsKey(id), "-", "+"))
        var text = ""
        for (_, event) in events {
            switch event {
            case .started, .queued: text = ""
            case .token(let delta): text += delta
            default: break
            }
        }
        return text
    }

    /// What a new subscriber sees first: the current run (its `started` and the text so far), or
    /// `queued`, or the final event.
    static func replay(job: Job, events: [JobEvent]) -> [JobEvent] {
        if job.status.isFinished {
            switch job.status {
            case .succeeded: return [.done(result: job.result ?? Data())]
            case .failed: return [.failed(message: job.errorMessage ?? "failed")]
            default: return [.cancelled]
            }
        }
        var replay: [JobEvent] = []
        var text = ""
        for event in events {
            switch event {
            case .queued, .started:
                replay = [event]
                text = ""
            case .token(let delta): text += delta
            default: replay = [event]
            }
        }
        if replay.isEmpty { replay = [job.status == .running ? .started(attempt: job.attempts) : .queued] }
        if !text.isEmpty { replay.append(.token(text)) }
        return replay
    }

    static func decodeEvents(_ reply: RedisValue) -> [(String, JobEvent)] {
        (reply.array ?? []).compactMap { entry in
            guard let parts = entry.array, parts.count == 2, let entryID = parts[0].string,
                  let fields = parts[1].fieldMap, let name = fields["e"].map({ String(decoding: $0, as: UTF8.self) }) else { return nil }
            let data = fields["d"] ?? Data()
            let text = String(decoding: data, as: UTF8.self)
            switch name {
            case "queued": return (entryID, .queued)
            case "started": return (entryID, .started(attempt: Int(text) ?? 1))
            case "token": return (entryID, .token(text))
            case "done": return (entryID, .done(result: data))
            case "failed": return (entryID, .failed(message: text))
            case "cancelled": return (entryID, .cancelled)
            default: return nil
            }
        }
    }

    // MARK: - Redis plumbing

    /// Runs `body`, turning Redis failures into `JobStoreError.unavailable`.
    private func redis<T>(_ body: () throws -> T) throws -> T {
        if closedFlag { throw JobStoreError.closed }
        do {
            return try body()
        } catch let error as RedisError {
            if case .closed = error { throw JobStoreError.closed }
            throw JobStoreError.unavailable(backend: "redis at \(client.url)", reason: error.description)
        }
    }

    private func evalCommand(_ script: String, keys: [String], arguments: [Data]) -> [Data] {
        [Data("EVAL".utf8), Data(script.utf8), Data(String(keys.count).utf8)] + keys.map { Data($0.utf8) } + arguments
    }

    private func eval(_ script: String, keys: [String], arguments: [Data]) throws -> RedisValue {
        try client.send(evalCommand(script, keys: keys, arguments: arguments))
    }

    private func ensureGroup(_ queue: String) throws {
        lock.lock()
        let known = knownGroups.contains(queue)
        lock.unlock()
        guard !known else { return }
        do {
            try client.send("XGROUP", "CREATE", queue, Self.group, "0", "MKSTREAM")
        } catch let error as RedisError where error.serverErrorCode == "BUSYGROUP" {}
        lock.lock()
        knownGroups.insert(queue)
        lock.unlock()
    }

    private func forgetGroup(_ queue: String) {
        lock.lock()
        knownGroups.remove(queue)
        lock.unlock()
    }

    /// The job a script returned as `{expected, HGETALL}`.
    static func jobFromScript(_ id: JobID, _ reply: RedisValue, expecting expected: String) -> Job? {
        guard let values = reply.array, values.count == 2, values[0].string == expected,
              let fields = values[1].fieldMap else { return nil }
        return decodeJob(id, fields)
    }

    static func decodeJob(_ id: JobID, _ fields: [String: Data]) -> Job? {
        func text(_ name: String) -> String? { fields[name].map { String(decoding: $0, as: UTF8.self) } }
        func date(_ name: String) -> Date? { text(name).flatMap { Int64($0) }.map(JobStore.date) }
        guard let status = text("status").flatMap(JobStatus.init(rawValue:)), let type = text("type") else { return nil }
        let key = text("key")
        return Job(id: id, type: type, params: fields["params"] ?? Data(), idempotencyKey: key?.isEmpty == false ? key : nil,
                   status: status, attempts: Int(text("attempts") ?? "") ?? 0, cancelRequested: text("cancel") == "1",
                   result: status == .succeeded ? (fields["result"] ?? Data()) : nil,
                   errorMessage: status == .failed ? (text("error") ?? "failed") : nil, partialText: nil,
                   createdAt: date("created") ?? Date(timeIntervalSince1970: 0), startedAt: date("started"),
                   finishedAt: date("finished"))
    }
}

/// A job this process runs: its lease in Redis and the text not yet written there.
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

    func restorePending(_ text: String) {
        lock.lock()
        pending = text + pending
        lock.unlock()
    }
}
