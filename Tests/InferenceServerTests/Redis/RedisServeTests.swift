import Foundation
import XCTest

@testable import InferenceServer
@testable import JobStore
@testable import ServiceTestSupport

#if canImport(Glibc)
    import Glibc
#endif

/// `serve --jobs-redis` as one process: flags, and Redis unreachable at start and mid-run.
final class RedisServeTests: XCTestCase {
    private var tinyModel: String { "tiny=" + AppFixtures.tinyGPT2.path }

    private func json(_ response: TestResponse) -> [String: Any] {
        ((try? JSONSerialization.jsonObject(with: Data(response.body))) as? [String: Any]) ?? [:]
    }

    func testUsageErrors() throws {
        let both = try ServeProcess([
            "--model", tinyModel, "--port", "0", "--jobs-db", "/tmp/x.sqlite",
            "--jobs-redis", "redis://127.0.0.1:6379/0",
        ])
        XCTAssertEqual(both.waitForExit(), 2)
        XCTAssertTrue(both.stderr.contains("--jobs-db and --jobs-redis"), both.stderr)
        let badURL = try ServeProcess(["--model", tinyModel, "--port", "0", "--jobs-redis", "http://127.0.0.1:6379"])
        XCTAssertEqual(badURL.waitForExit(), 2)
        XCTAssertTrue(badURL.stderr.contains("redis://"), badURL.stderr)
        let leaseAlone = try ServeProcess(["--model", tinyModel, "--port", "0", "--job-lease", "5"])
        XCTAssertEqual(leaseAlone.waitForExit(), 2)
    }

    func testRedisDownAtStartIsDegradedWithSubmitsRefusedThenJobsRunOnceItIsUp() throws {
        let redisPort = try freeLoopbackPort()
        let server = try ServeProcess([
            "--model", tinyModel, "--port", "0", "--jobs-redis", "redis://127.0.0.1:\(redisPort)/0",
        ])
        let port = try XCTUnwrap(server.mainPort(), server.stderr)
        XCTAssertTrue(server.waitFor("ready"), server.stdout + server.stderr)
        XCTAssertTrue(server.stderr.contains("job store is unavailable"), server.stderr)
        XCTAssertTrue(server.stdout.contains("jobs: redis://127.0.0.1:\(redisPort)/0, lease 30 s"), server.stdout)

        let health = try TestClient.request(port: port, "/health")
        XCTAssertEqual(health.status, 200, "sync routes still work: the load balancer keeps the server")
        XCTAssertEqual(json(health)["status"] as? String, "degraded")
        let jobs = json(health)["jobs"] as? [String: Any]
        XCTAssertEqual(jobs?["backend"] as? String, "redis")
        XCTAssertEqual(jobs?["state"] as? String, "unavailable")
        XCTAssertTrue((jobs?["error"] as? String)?.contains("refused") == true, health.text)

        let body = #"{"type":"generate","prompt":"Once upon a time","max_new_tokens":8,"seed":1}"#
        let refused = try TestClient.request(
            port: port, "POST", "/v1/jobs", headers: ["Content-Type": "application/json"], body: body)
        XCTAssertEqual(refused.status, 503, refused.text)
        XCTAssertNotNil(refused.headers["Retry-After"])
        let sync = try TestClient.request(
            port: port, "POST", "/v1/generate", headers: ["Content-Type": "application/json"],
            body: #"{"prompt":"Once upon a time","max_new_tokens":4}"#)
        XCTAssertEqual(sync.status, 200, sync.text)

        // Redis comes up on that port: the same server takes and runs jobs, no restart needed.
        let redis = try RedisServerProcess(appendOnly: true, port: redisPort)
        defer { _ = redis }
        let healthy = try TestClient.request(port: port, "/health")
        XCTAssertEqual(json(healthy)["status"] as? String, "ok", healthy.text)
        let accepted = try TestClient.request(
            port: port, "POST", "/v1/jobs", headers: ["Content-Type": "application/json"], body: body)
        XCTAssertEqual(accepted.status, 202, accepted.text)
        let id = try XCTUnwrap(json(accepted)["id"] as? String)
        pollUntil(20, "the job to succeed") {
            (try? TestClient.request(port: port, "/v1/jobs/\(id)")).map { json($0)["status"] as? String } == "succeeded"
        }
        server.signal(SIGTERM)
        XCTAssertEqual(server.waitForExit(), 0, server.stderr)
    }
}
