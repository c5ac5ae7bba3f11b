import Foundation
import HTTPServer

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
///
/// Sendable by hand: configuration is set before the store is shared; live state sits behind the client's and
/// the leases' locks.
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
        /// Consumers (earlier server processes) idle this long with nothing pending are removed
        /// from the groups when a server starts; live servers touch theirs every `claimBlock`.
        public var forgetConsumersIdleFor: TimeInterval
        public var clock: @Sendable () -> Date

        public init(
            keyPrefix: String = "octavo", lease: TimeInterval = 30, resultTTL: TimeInterval? = 24 * 3600,
            maxAttempts: Int = 3, claimBlock: TimeInterval = 1, flushInterval: TimeInterval = 0.1,
            consumerName: String? = nil, forgetConsumersIdleFor: TimeInterval = 3600,
            clock: @escaping @Sendable () -> Date = { Date() }
        ) {
            self.keyPrefix = keyPrefix
            self.lease = lease
            self.resultTTL = resultTTL
            self.maxAttempts = maxAttempts
            self.claimBlock = claimBlock
            self.flushInterval = flushInterval
            self.consumerName = consumerName ?? Self.defaultConsumerName()
            self.forgetConsumersIdleFor = forgetConsumersIdleFor
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
    /// Guards the mutable state below (never held across a Redis call).
    let lock = NSLock()
    /// Models whose queues each job type reads; `defaultModels` for types not listed.
    var servedModels: [String: [String]] = [:]
    var defaultModels: [String] = [""]
    /// Jobs this process runs.
    var active: [JobID: RedisActiveLease] = [:]
    /// Event streams followed for subscribers, ended at close.
    var followers: [ObjectIdentifier: EventBuffer] = [:]
    var knownGroups: Set<String> = []
    var nextAutoclaim: [String: UInt64] = [:]
    var leaseCounter: UInt64 = 0
    var isClosed = false
    let signal = QueueSignal()
    let keeperWake = NSCondition()
    /// Serialises writes of a lease's text with the script that finishes it.
    let flushLock = NSLock()

    /// Connects lazily: a Redis that is down at startup makes calls fail (and `/health` say
    /// so) until it is back, instead of stopping the server.
    public init(url: RedisURL, configuration: Configuration = Configuration()) throws {
        guard configuration.lease >= 1 else {
            throw JobStoreError.invalidArgument("the job lease must be at least 1 second")
        }
        guard configuration.maxAttempts >= 1 else {
            throw JobStoreError.invalidArgument("maxAttempts must be at least 1")
        }
        self.configuration = configuration
        client = RedisClient(url: url, connectTimeout: 2, commandTimeout: 5, maxIdleConnections: 64)
        healthClient = RedisClient(url: url, connectTimeout: 1, commandTimeout: 1, maxIdleConnections: 1)
        let keeper = Thread { [weak self] in self?.keeperLoop() }
        keeper.name = "jobs.redis.keeper"
        keeper.start()
    }

    deinit { close() }

    /// The models whose queues this server's workers read, for every job type ("" is the queue
    /// of jobs whose params name no model).
    public func setServedModels(_ models: [String]) {
        lock.lock()
        defaultModels = models.isEmpty ? [""] : models
        lock.unlock()
    }

    /// The models whose queues each job type reads (a type with none claims nothing).
    public func setServedModels(byType models: [String: [String]]) {
        lock.lock()
        servedModels = models
        lock.unlock()
    }

    func queues(for type: String) -> [String] {
        lock.lock()
        defer { lock.unlock() }
        return (servedModels[type] ?? defaultModels).map { queueKey(type: type, model: $0) }
    }

    // MARK: - Keys

    var prefix: String { configuration.keyPrefix + ":" }
    func jobKey(_ id: JobID) -> String { prefix + "job:" + id.rawValue }
    func eventsKey(_ id: JobID) -> String { prefix + "events:" + id.rawValue }
    func queueKey(type: String, model: String) -> String { prefix + "queue:" + type + ":" + model }
    private func idempotencyKey(_ key: String) -> String { prefix + "idem:" + key }
    var recentKey: String { prefix + "recent" }
    /// How many of the latest jobs `list` can see (expired ones drop out as they are met).
    static let maxRecentJobs = 10_000
    var ttlMilliseconds: String { String(Int64((configuration.resultTTL ?? 0) * 1000)) }
    var now: String { String(JobStore.milliseconds(configuration.clock())) }

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
            throw JobStoreError.invalidArgument(
                "idempotency key must be 1 to \(JobStore.maxIdempotencyKeyLength) "
                    + "bytes")
        }
        let id = JobID.random()
        let queue = queueKey(type: type, model: Self.model(ofParams: params))
        let reply = try redis {
            try eval(
                RedisJobScripts.submit,
                keys: [key.map(idempotencyKey) ?? jobKey(id), jobKey(id), queue, eventsKey(id), recentKey],
                arguments: [
                    Data(id.rawValue.utf8), Data(type.utf8), params, Data((key ?? "").utf8),
                    Data(now.utf8), Data(prefix.utf8), Data(String(Self.maxRecentJobs).utf8),
                ])
        }
        guard let values = reply.array, values.count == 2, let created = values[0].integer,
            let existing = values[1].string.flatMap(JobID.init(rawValue:))
        else {
            throw JobStoreError.unavailable(backend: "redis", reason: "unexpected reply to submit: \(reply)")
        }
        if created == 1 {
            signal.notify()
            let job = Job(
                id: id, type: type, params: params, idempotencyKey: key, status: .queued, attempts: 0,
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

    /// Among the latest `maxRecentJobs` submissions; the text of running jobs only for those this
    /// server runs (`get` reads it from the events for any job).
    public func list(status: JobStatus? = nil, limit: Int = 100, newestFirst: Bool = false) throws -> [Job] {
        guard limit >= 0 else { throw JobStoreError.invalidArgument("limit must not be negative") }
        return try redis {
            var jobs: [Job] = []
            var expired: [JobID] = []
            let page = 200
            var offset = 0
            while jobs.count < limit, offset < Self.maxRecentJobs {
                let range = [recentKey, String(offset), String(offset + page - 1)]
                let ids = (try client.send((newestFirst ? ["ZREVRANGE"] : ["ZRANGE"]) + range).array ?? [])
                    .compactMap { $0.string.flatMap(JobID.init(rawValue:)) }
                if ids.isEmpty { break }
                let records = try client.pipeline(ids.map { ["HGETALL", jobKey($0)] })
                for (id, record) in zip(ids, records) where jobs.count < limit {
                    guard let fields = record.fieldMap, !fields.isEmpty, var job = Self.decodeJob(id, fields) else {
                        expired.append(id)
                        continue
                    }
                    if let status, job.status != status { continue }
                    if job.status == .running { job.partialText = activeLease(id)?.text }
                    jobs.append(job)
                }
                offset += page
            }
            if !expired.isEmpty {
                try client.send([Data("ZREM".utf8), Data(recentKey.utf8)] + expired.map { Data($0.rawValue.utf8) })
            }
            return jobs
        }
    }

    @discardableResult
    public func cancel(_ id: JobID) throws -> Job {
        let reply = try redis {
            try eval(
                RedisJobScripts.cancel, keys: [jobKey(id), eventsKey(id)],
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

    public var workGeneration: UInt64 { signal.current }

    /// Returns at once: `claimNext` already waited (in `XREADGROUP BLOCK`).
    public func waitForWork(after generation: UInt64, timeout: TimeInterval) {}

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
        guard !isClosed else {
            lock.unlock()
            return
        }
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

    // MARK: - Redis plumbing

    var closedFlag: Bool {
        lock.lock()
        defer { lock.unlock() }
        return isClosed
    }

    func activeLease(_ id: JobID) -> RedisActiveLease? {
        lock.lock()
        defer { lock.unlock() }
        return active[id]
    }

    func removeActive(_ id: JobID, token: UInt64) {
        lock.lock()
        if active[id]?.token == token { active[id] = nil }
        lock.unlock()
    }

    /// Runs `body`, turning Redis failures into `JobStoreError.unavailable`.
    func redis<T>(_ body: () throws -> T) throws -> T {
        if closedFlag { throw JobStoreError.closed }
        do {
            return try body()
        } catch let error as RedisError {
            if case .closed = error { throw JobStoreError.closed }
            throw JobStoreError.unavailable(backend: "redis at \(client.url)", reason: error.description)
        }
    }

    func evalCommand(_ script: String, keys: [String], arguments: [Data]) -> [Data] {
        [Data("EVAL".utf8), Data(script.utf8), Data(String(keys.count).utf8)] + keys.map { Data($0.utf8) } + arguments
    }

    func eval(_ script: String, keys: [String], arguments: [Data]) throws -> RedisValue {
        try client.send(evalCommand(script, keys: keys, arguments: arguments))
    }

    func ensureGroup(_ queue: String) throws {
        lock.lock()
        let known = knownGroups.contains(queue)
        lock.unlock()
        guard !known else { return }
        do {
            try client.send("XGROUP", "CREATE", queue, Self.group, "0", "MKSTREAM")
        } catch let error as RedisError where error.serverErrorCode == "BUSYGROUP" {}
        try forgetIdleConsumers(queue)
        lock.lock()
        knownGroups.insert(queue)
        lock.unlock()
    }

    /// Every server start adds a consumer (its name has the pid): remove those of long-gone
    /// processes. Only consumers with nothing pending: a pending entry is a job to take over.
    private func forgetIdleConsumers(_ queue: String) throws {
        let limit = Int64(configuration.forgetConsumersIdleFor * 1000)
        for consumer in try client.send("XINFO", "CONSUMERS", queue, Self.group).array ?? [] {
            guard let fields = consumer.fieldMap,
                let name = fields["name"].map({ String(decoding: $0, as: UTF8.self) }),
                let pending = fields["pending"].flatMap({ Int64(String(decoding: $0, as: UTF8.self)) }),
                let idle = fields["idle"].flatMap({ Int64(String(decoding: $0, as: UTF8.self)) }),
                pending == 0, idle >= limit, name != configuration.consumerName
            else { continue }
            try client.send("XGROUP", "DELCONSUMER", queue, Self.group, name)
        }
    }

    func forgetGroup(_ queue: String) {
        lock.lock()
        knownGroups.remove(queue)
        lock.unlock()
    }

    /// The job a script returned as `{expected, HGETALL}`.
    static func jobFromScript(_ id: JobID, _ reply: RedisValue, expecting expected: String) -> Job? {
        guard let values = reply.array, values.count == 2, values[0].string == expected,
            let fields = values[1].fieldMap
        else { return nil }
        return decodeJob(id, fields)
    }

    static func decodeJob(_ id: JobID, _ fields: [String: Data]) -> Job? {
        func text(_ name: String) -> String? { fields[name].map { String(decoding: $0, as: UTF8.self) } }
        func date(_ name: String) -> Date? { text(name).flatMap { Int64($0) }.map(JobStore.date) }
        guard let status = text("status").flatMap(JobStatus.init(rawValue:)), let type = text("type") else {
            return nil
        }
        let key = text("key")
        return Job(
            id: id, type: type, params: fields["params"] ?? Data(), idempotencyKey: key?.isEmpty == false ? key : nil,
            status: status, attempts: Int(text("attempts") ?? "") ?? 0, cancelRequested: text("cancel") == "1",
            result: status == .succeeded ? (fields["result"] ?? Data()) : nil,
            errorMessage: status == .failed ? (text("error") ?? "failed") : nil, partialText: nil,
            createdAt: date("created") ?? Date(timeIntervalSince1970: 0), startedAt: date("started"),
            finishedAt: date("finished"))
    }
}
