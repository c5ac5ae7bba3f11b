import Foundation
import XCTest

@testable import InferenceServer
@testable import JobStore
@testable import ServiceTestSupport

#if canImport(Glibc)
    import Glibc
#endif

/// Three real `octavo-infer serve --jobs-redis` processes behind a real nginx, sharing one
/// real Redis (AOF on): one server is killed with SIGKILL while it runs jobs and Redis restarts
/// in the middle, and still every accepted job finishes once, readable from every server.
final class RedisClusterTests: XCTestCase {
    private var tinyModel: String { "tiny=" + AppFixtures.tinyGPT2.path }
    private let queue = "octavo:queue:generate:tiny"

    private func startServers(
        _ count: Int, redis: RedisServerProcess, lease: Int,
        executable: URL? = nil
    ) throws -> [(process: ServeProcess, port: Int)] {
        // Started together: loading is the slow part on a loaded machine.
        let processes = try (0..<count).map { _ in
            try ServeProcess(
                [
                    "--model", tinyModel, "--port", "0", "--jobs-redis", redis.urlString, "--job-lease", String(lease),
                    "--max-batch", "4", "--threads", "1",
                ], executable: executable)
        }
        return try processes.map { process in
            let port = try XCTUnwrap(process.mainPort(), process.stderr)
            XCTAssertTrue(process.waitFor("ready"), process.stdout + process.stderr)
            return (process, port)
        }
    }

    /// Submits one job through `port`, retrying with the same Idempotency-Key while the answer is
    /// "try again" (503: Redis restarting; 502: the server that had the connection died).
    private func submit(_ index: Int, port: Int, maxNewTokens: Int = 40, deadline: Date) -> (id: String?, retries: Int)
    {
        let body =
            #"{"type":"generate","prompt":"Once upon a time","max_new_tokens":\#(maxNewTokens),"seed":\#(index)}"#
        var retries = 0
        while Date() < deadline {
            do {
                let response = try TestClient.request(
                    port: port, "POST", "/v1/jobs",
                    headers: ["Content-Type": "application/json", "Idempotency-Key": "job-\(index)"],
                    body: body)
                if response.status == 202 {
                    let object = (try? JSONSerialization.jsonObject(with: Data(response.body))) as? [String: Any]
                    return (object?["id"] as? String, retries)
                }
                guard [502, 503, 504].contains(response.status) else {
                    XCTFail("submit \(index): \(response.status) \(response.text)")
                    return (nil, retries)
                }
                if response.status == 503 { XCTAssertNotNil(response.headers["Retry-After"], response.text) }
            } catch {}
            retries += 1
            Thread.sleep(forTimeInterval: 0.1)
        }
        XCTFail("submit \(index) was never accepted")
        return (nil, retries)
    }

    private func status(_ id: String, port: Int) -> String? {
        guard let response = try? TestClient.request(port: port, "/v1/jobs/\(id)"), response.status == 200 else {
            return nil
        }
        return ((try? JSONSerialization.jsonObject(with: Data(response.body))) as? [String: Any])?["status"] as? String
    }

    /// Job ids whose queue entries are pending on the consumer of process `pid` (claimed by it).
    private func pendingJobs(ofProcess pid: Int32, redis client: RedisClient) throws -> [String] {
        let consumers = try client.send("XINFO", "CONSUMERS", queue, RedisJobStore.group).array ?? []
        let names = consumers.compactMap { $0.fieldMap?["name"].map { String(decoding: $0, as: UTF8.self) } }
        guard let consumer = names.first(where: { $0.contains("-\(pid)-") }) else { return [] }
        let pending = try client.send("XPENDING", queue, RedisJobStore.group, "-", "+", "1000", consumer).array ?? []
        return try pending.compactMap { entry -> String? in
            guard let entryID = entry.array?.first?.string else { return nil }
            let fields = try client.send("XRANGE", queue, entryID, entryID).array?.first?.array?.last?.fieldMap
            return fields?["id"].map { String(decoding: $0, as: UTF8.self) }
        }
    }

    func testThreeServersBehindNginxSurviveAKilledServerAndARedisRestart() throws {
        // Every accepted job on disk before its 202, as an operator who cannot lose one would run it.
        let redis = try RedisServerProcess(appendOnly: true, appendFsync: "always")
        let servers = try startServers(3, redis: redis, lease: 2)
        let nginx = try NginxProcess(upstreams: servers.map(\.port))
        let client = RedisClient(url: redis.url)
        defer { client.close() }

        let total = 100
        let accepted = LockedBox<[Int: String]>([:])
        let retries = LockedBox(0)
        let deadline = Date(timeIntervalSinceNow: 40)
        let submitters = (0..<4).map { lane in
            Thread { [self] in
                for index in stride(from: lane, to: total, by: 4) {
                    let (id, tries) = submit(index, port: nginx.port, deadline: deadline)
                    retries.update { $0 += tries }
                    if let id { accepted.update { $0[index] = id } }
                }
            }
        }
        let start = Date()
        for thread in submitters { thread.start() }

        // Kill server 0 at a moment it holds claimed jobs.
        let victim = servers[0].process
        let victimPID = victim.process.processIdentifier
        var orphans: [String] = []
        pollUntil(20, "server 0 to be running a job") {
            (try? pendingJobs(ofProcess: victimPID, redis: client).isEmpty) == false
        }
        victim.signal(SIGKILL)
        XCTAssertEqual(victim.waitForExit(), SIGKILL)
        orphans = try pendingJobs(ofProcess: victimPID, redis: client)

        // Restart Redis while submissions and jobs are still going.
        pollUntil(20, "60 accepted jobs") { accepted.value.count >= 60 }
        try redis.restart()
        for thread in submitters { while !thread.isFinished { Thread.sleep(forTimeInterval: 0.02) } }
        let ids = accepted.value
        XCTAssertEqual(ids.count, total, "every job was eventually accepted")
        XCTAssertEqual(Set(ids.values).count, ids.count, "retries with one Idempotency-Key make one job")

        let survivors = servers.dropFirst().map(\.port)
        pollUntil(40, "every accepted job to succeed") {
            ids.values.allSatisfy { status($0, port: nginx.port) == "succeeded" }
        }
        let elapsed = Date().timeIntervalSince(start)

        // Exactly one outcome per job: one final event, the stored result's.
        var reruns = 0
        for id in ids.values {
            let record = try XCTUnwrap(client.send("HGETALL", "octavo:job:\(id)").fieldMap, id)
            let events = RedisJobStore.decodeEvents(try client.send("XRANGE", "octavo:events:\(id)", "-", "+")).map(\.1)
            let finals = events.filter(\.isFinal)
            XCTAssertEqual(finals, [.done(result: record["result"] ?? Data())], "job \(id): \(finals)")
            if (Int(String(decoding: record["attempts"] ?? Data(), as: UTF8.self)) ?? 0) > 1 { reruns += 1 }
        }
        for id in orphans {
            XCTAssertEqual(status(id, port: nginx.port), "succeeded", "job \(id) claimed by the killed server")
        }
        // Events from any server, whichever ran the job.
        for id in ids.values.sorted().prefix(5) {
            for port in survivors {
                let events = try TestClient.request(port: port, "/v1/jobs/\(id)/events")
                XCTAssertEqual(events.status, 200)
                XCTAssertTrue(
                    events.text.contains("event: done") && events.text.contains(#""finish_reason""#), events.text)
            }
        }
        // The list of recent jobs is the cluster's, on every server.
        for port in survivors {
            let list = try TestClient.request(port: port, "/v1/jobs?status=succeeded&limit=100")
            let data =
                ((try? JSONSerialization.jsonObject(with: Data(list.body))) as? [String: Any])?["data"]
                as? [[String: Any]]
            XCTAssertEqual(
                Set((data ?? []).compactMap { $0["id"] as? String }), Set(ids.values), list.text.prefix(300).description
            )
        }
        // And through nginx, which streams them unbuffered.
        if let id = ids[total - 1] {
            let events = try TestClient.request(port: nginx.port, "/v1/jobs/\(id)/events")
            XCTAssertEqual(events.headers["Content-Type"]?.hasPrefix("text/event-stream"), true, events.text)
            XCTAssertTrue(events.text.contains("event: done"), events.text)
        }
        XCTAssertEqual(
            try client.send("XPENDING", queue, RedisJobStore.group).array?.first, .integer(0),
            "every entry acknowledged")
        print(
            "redis cluster: \(ids.count) jobs through nginx in \(String(format: "%.1f", elapsed)) s; server 0 "
                + "killed holding \(orphans.count) claimed jobs; \(reruns) jobs ran twice; \(retries.value) submit "
                + "retries (502/503) across the kill and the Redis restart")
        for (process, _) in servers.dropFirst() {
            process.signal(SIGTERM)
            XCTAssertEqual(process.waitForExit(), 0, process.stderr)
        }
        _ = nginx
    }

    /// jobs/s through nginx with 1, 2 and 3 servers on the tiny model. A measurement, not a
    /// check: it runs only with OCTAVO_REDIS_BENCH=1 (quiet cores make it meaningful), on the
    /// release binary with OCTAVO_REDIS_BENCH_RELEASE=1.
    func testJobsPerSecondWithOneTwoAndThreeServers() throws {
        guard ProcessInfo.processInfo.environment["OCTAVO_REDIS_BENCH"] == "1" else {
            throw XCTSkip("a benchmark: run with OCTAVO_REDIS_BENCH=1")
        }
        let jobs = Int(ProcessInfo.processInfo.environment["OCTAVO_REDIS_BENCH_JOBS"] ?? "") ?? 200
        let fsync = ProcessInfo.processInfo.environment["OCTAVO_REDIS_BENCH_FSYNC"] ?? "everysec"
        let release = ProcessInfo.processInfo.environment["OCTAVO_REDIS_BENCH_RELEASE"] == "1"
        let executable = release ? try ServeProcess.releaseExecutable() : nil
        for count in 1...3 {
            let redis = try RedisServerProcess(appendOnly: true, appendFsync: fsync)
            let servers = try startServers(count, redis: redis, lease: 30, executable: executable)
            let nginx = try NginxProcess(upstreams: servers.map(\.port))
            let client = RedisClient(url: redis.url)
            defer { client.close() }
            let ids = LockedBox<[String]>([])
            let cpuAtStart = servers.map { cpuSeconds(ofProcess: $0.process.process.processIdentifier) }
            let testCPUAtStart = cpuSeconds(ofProcess: getpid())
            let start = Date()
            let deadline = Date(timeIntervalSinceNow: 120)
            let submitters = (0..<8).map { lane in
                Thread { [self] in
                    for index in stride(from: lane, to: jobs, by: 8) {
                        if let id = submit(index, port: nginx.port, deadline: deadline).id {
                            ids.update { $0.append(id) }
                        }
                    }
                }
            }
            for thread in submitters { thread.start() }
            for thread in submitters { while !thread.isFinished { Thread.sleep(forTimeInterval: 0.005) } }
            let submitted = Date().timeIntervalSince(start)
            pollUntil(120, "all jobs to finish") {
                let replies = (try? client.pipeline(ids.value.map { ["HGET", "octavo:job:\($0)", "status"] })) ?? []
                return replies.count == jobs && replies.allSatisfy { $0.string == "succeeded" }
            }
            let elapsed = Date().timeIntervalSince(start)
            // How long a worker held each job (claim to stored outcome), from the job records.
            let times = try client.pipeline(ids.value.map { ["HMGET", "octavo:job:\($0)", "started", "finished"] })
            let held = times.compactMap { reply -> Double? in
                guard let values = reply.array, values.count == 2, let started = values[0].integer,
                    let finished = values[1].integer
                else { return nil }
                return Double(finished - started)
            }.sorted()
            let medianHeld = held.isEmpty ? 0 : held[held.count / 2]
            let serverCPU = zip(servers, cpuAtStart).map {
                cpuSeconds(ofProcess: $0.0.process.process.processIdentifier) - $0.1
            }
            let redisCPU = redis.pid.map(cpuSeconds(ofProcess:)) ?? 0
            let nginxCPU = cpuSeconds(ofProcess: nginx.pid)
            let testCPU = cpuSeconds(ofProcess: getpid()) - testCPUAtStart
            print(
                String(
                    format: "redis jobs bench (\(release ? "release" : "debug") build, appendfsync \(fsync)): "
                        + "%d server(s): %d jobs in %.2f s = %.1f jobs/s (all submitted after %.2f s); "
                        + "median job held by its worker %.1f ms; CPU s: servers %@, redis %.2f, nginx %.2f, test "
                        + "client %.2f",
                    count, jobs, elapsed, Double(jobs) / elapsed, submitted, medianHeld,
                    serverCPU.map { String(format: "%.2f", $0) }.joined(separator: "+"), redisCPU, nginxCPU, testCPU))
            for (process, _) in servers { process.signal(SIGKILL) }
            _ = nginx
        }
    }
}
