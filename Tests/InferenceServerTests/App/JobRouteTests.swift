import Foundation
import XCTest

@testable import InferenceServer
@testable import JobStore
@testable import ServiceTestSupport

/// `/v1/jobs`: submit, get, events, cancel, idempotency — through the real executors.
final class JobRouteTests: AppTestCase {
    var databasePath = ""

    override func setUpWithError() throws {
        databasePath = NSTemporaryDirectory() + "octavo-jobs-\(UUID().uuidString).sqlite"
    }

    override func tearDown() {
        super.tearDown()
        for suffix in ["", "-wal", "-shm", ".lock"] {
            try? FileManager.default.removeItem(atPath: databasePath + suffix)
        }
    }

    func start(slow: TimeInterval = 0, keepAlive: TimeInterval = 15) throws {
        try startApp(slow: slow) {
            $0.jobsDatabasePath = self.databasePath
            $0.jobEventsKeepAlive = keepAlive
        }
    }

    func submit(_ body: String, headers: [String: String] = [:]) throws -> String {
        let response = try post("/v1/jobs", body, headers: headers)
        XCTAssertEqual(response.status, 202, response.text)
        let object = try json(response)
        XCTAssertEqual(object["status"] as? String, "queued")
        XCTAssertEqual(response.headers["Location"], "/v1/jobs/\(object["id"] as? String ?? "")")
        return try XCTUnwrap(object["id"] as? String)
    }

    func waitForFinish(_ id: String, timeout: TimeInterval = 30) throws -> [String: Any] {
        let deadline = Date(timeIntervalSinceNow: timeout)
        while Date() < deadline {
            let job = try json(try get("/v1/jobs/\(id)"))
            if ["succeeded", "failed", "cancelled"].contains(job["status"] as? String) { return job }
            Thread.sleep(forTimeInterval: 0.02)
        }
        XCTFail("job \(id) did not finish")
        return [:]
    }

    func testGenerateStoryAndTranslateJobsRunToTheRoutesResults() throws {
        try start()
        let generate = try submit(#"{"type":"generate","prompt":"Once upon a time","max_new_tokens":4,"greedy":true}"#)
        let story = try submit(#"{"type":"story","Prompt":"Story: hello","Audience":"young"}"#)
        let translate = try submit(#"{"type":"translate","texts":["a b"],"target":"spa_Latn"}"#)
        let generated = try waitForFinish(generate)
        XCTAssertEqual(generated["status"] as? String, "succeeded")
        let reference = try AppFixtures.reference().prompts[0]
        XCTAssertEqual(
            (generated["result"] as? [String: Any])?["generated_ids"] as? [Int], Array(reference.greedy.prefix(4)))
        let told = try waitForFinish(story)
        XCTAssertEqual(Set(((told["result"] as? [String: Any]) ?? [:]).keys), ["Status", "Content"])
        let translated = try waitForFinish(translate)
        XCTAssertEqual((translated["result"] as? [String: Any])?["translations"] as? [String], ["<spa_Latn> b a"])
    }

    func testListingRecentJobsNewestFirstFilteredByStatus() throws {
        try start()
        let first = try submit(#"{"type":"generate","prompt":"Once upon a time","max_new_tokens":2}"#)
        let second = try submit(#"{"type":"translate","texts":["a b"],"target":"spa_Latn"}"#)
        _ = try waitForFinish(first)
        _ = try waitForFinish(second)
        let all = try json(try get("/v1/jobs"))
        XCTAssertEqual(all["object"] as? String, "list")
        let data = try XCTUnwrap(all["data"] as? [[String: Any]])
        XCTAssertEqual(data.map { $0["id"] as? String }, [second, first])
        XCTAssertEqual(data.map { $0["status"] as? String }, ["succeeded", "succeeded"])
        XCTAssertEqual((try json(try get("/v1/jobs?limit=1"))["data"] as? [Any])?.count, 1)
        XCTAssertEqual((try json(try get("/v1/jobs?status=queued"))["data"] as? [Any])?.count, 0)
        XCTAssertEqual((try json(try get("/v1/jobs?status=succeeded"))["data"] as? [Any])?.count, 2)
        try assertOpenAIError(try get("/v1/jobs?status=done"), status: 400, mentions: "'status'")
        try assertOpenAIError(try get("/v1/jobs?limit=0"), status: 400, mentions: "'limit'")
    }

    func testEventsStreamQueuedStartedTokensAndDone() throws {
        try start()
        let id = try submit(#"{"type":"generate","prompt":"Once upon a time","max_new_tokens":5,"greedy":true}"#)
        let response = try get("/v1/jobs/\(id)/events")
        XCTAssertEqual(response.headers["Content-Type"], "text/event-stream")
        let events = SSE.parse(response.text)
        XCTAssertEqual(events.last?.event, "done", response.text)
        let result = try XCTUnwrap(SSE.object(events.last!)?["result"] as? [String: Any])
        // A late subscriber may get the final state only; a live one sees every step.
        if events.count > 1 {
            XCTAssertTrue(events.contains { $0.event == "started" })
            let text = events.filter { $0.event == "token" }.compactMap { SSE.object($0)?["text"] as? String }.joined()
            XCTAssertEqual(text, result["text"] as? String)
        }
    }

    func testLiveEventsWhileRunningWithKeepAliveComments() throws {
        try start(slow: 0.06, keepAlive: 0.02)
        let id = try submit(#"{"type":"generate","prompt":"Once upon a time","max_new_tokens":10,"greedy":true}"#)
        let text = try get("/v1/jobs/\(id)/events").text
        let events = SSE.parse(text)
        XCTAssertEqual(events.last?.event, "done")
        XCTAssertTrue(events.contains { $0.event == "token" }, "\(events)")
        XCTAssertTrue(text.contains(": keep-alive\n\n"), text)
    }

    func testCancelARunningJob() throws {
        try start(slow: 0.05)
        let id = try submit(#"{"type":"generate","prompt":"Once upon a time","max_new_tokens":50,"greedy":true}"#)
        XCTAssertTrue(
            eventually { (try? self.json(try self.get("/v1/jobs/\(id)")))?["status"] as? String == "running" })
        let cancelled = try TestClient.request(port: port, "DELETE", "/v1/jobs/\(id)")
        XCTAssertEqual(cancelled.status, 200)
        XCTAssertEqual(try waitForFinish(id)["status"] as? String, "cancelled")
        XCTAssertTrue(eventually { self.tinyService.executor.statistics.cancelled == 1 })
    }

    func testIdempotencyKeyReturnsTheSameJob() throws {
        try start()
        let body = #"{"type":"generate","prompt":"x","max_new_tokens":1,"idempotency_key":"order-42"}"#
        let first = try submit(body)
        let retry = try post("/v1/jobs", body)
        XCTAssertEqual(try json(retry)["id"] as? String, first)
        XCTAssertEqual(retry.headers["Idempotent-Replayed"], "true")
        let header = try submit(
            #"{"type":"generate","prompt":"y","max_new_tokens":1}"#, headers: ["Idempotency-Key": "k2"])
        XCTAssertEqual(
            try json(
                try post(
                    "/v1/jobs", #"{"type":"generate","prompt":"y","max_new_tokens":1}"#,
                    headers: ["Idempotency-Key": "k2"]))["id"] as? String, header)
        try assertOpenAIError(
            try post("/v1/jobs", #"{"type":"generate","prompt":"other","idempotency_key":"order-42"}"#),
            status: 409, code: "idempotency_conflict")
    }

    func testJobErrors() throws {
        try start()
        try assertOpenAIError(try post("/v1/jobs", #"{"type":"paint","prompt":"x"}"#), status: 400, mentions: "'type'")
        try assertOpenAIError(try post("/v1/jobs", #"{"prompt":"x"}"#), status: 400, mentions: "'type'")
        try assertOpenAIError(
            try post("/v1/jobs", #"{"type":"generate","temperature":-3}"#), status: 400, mentions: "'temperature'")
        try assertOpenAIError(try post("/v1/jobs", #"{"type":"story"}"#), status: 400, mentions: "No prompt provided")
        try assertOpenAIError(try post("/v1/jobs", #"{"type":"translate","texts":["a"],"target":"zz"}"#), status: 400)
        try assertOpenAIError(try get("/v1/jobs/job_00000000000000000000000000"), status: 404, code: "job_not_found")
        try assertOpenAIError(try get("/v1/jobs/not-an-id"), status: 404, code: "job_not_found")
        try assertOpenAIError(try get("/v1/jobs/not-an-id/events"), status: 404)
        try assertOpenAIError(
            try TestClient.request(port: port, "DELETE", "/v1/jobs/job_00000000000000000000000000"), status: 404)
    }

    func testJobsAreOffWithoutADatabase() throws {
        try startApp()
        try assertOpenAIError(
            try post("/v1/jobs", #"{"type":"generate","prompt":"x"}"#), status: 404, code: "jobs_disabled")
    }

    func eventually(timeout: TimeInterval = 10, _ condition: () -> Bool) -> Bool {
        let deadline = Date(timeIntervalSinceNow: timeout)
        while Date() < deadline {
            if condition() { return true }
            Thread.sleep(forTimeInterval: 0.01)
        }
        return condition()
    }
}
