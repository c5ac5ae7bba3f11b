import Foundation
import XCTest

@testable import HTTPServer
@testable import InferenceServer
@testable import ServiceTestSupport

/// Safe defaults on a network: CORS only for listed origins, the loopback exemption closed to
/// foreign web pages and proxied requests, `Host` checked against DNS rebinding, keys replaceable.
final class NetworkSafetyTests: AppTestCase {
    let preflight = [
        "Origin": "https://app.example", "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type, x-evil",
    ]

    func testCORSIsOffByDefault() throws {
        try startApp()
        let normal = try get("/health", headers: ["Origin": "https://evil.example"])
        XCTAssertEqual(normal.status, 200)
        XCTAssertNil(normal.headers["Access-Control-Allow-Origin"])
        let completion = try post(
            "/v1/completions", #"{"prompt":"x","max_tokens":1}"#, headers: ["Origin": "https://evil.example"])
        XCTAssertNil(completion.headers["Access-Control-Allow-Origin"])
        let refused = try TestClient.request(port: port, "OPTIONS", "/v1/completions", headers: preflight)
        try assertOpenAIError(
            refused, status: 403, code: "origin_not_allowed", mentions: "--cors-origin https://app.example")
        XCTAssertNil(refused.headers["Access-Control-Allow-Origin"])
        XCTAssertNil(refused.headers["Access-Control-Allow-Headers"])
    }

    func testOnlyListedOriginsGetCORSHeadersAndNoHeaderIsEchoed() throws {
        try startApp { $0.corsOrigins = ["https://app.example", "http://localhost:3000"] }
        let allowed = try TestClient.request(port: port, "OPTIONS", "/v1/completions", headers: preflight)
        XCTAssertEqual(allowed.status, 204)
        XCTAssertEqual(allowed.headers["Access-Control-Allow-Origin"], "https://app.example")
        XCTAssertEqual(allowed.headers["Vary"], "Origin")
        XCTAssertEqual(allowed.headers["Access-Control-Allow-Headers"], "Authorization, Content-Type, Idempotency-Key")
        var evilPreflight = preflight
        evilPreflight["Origin"] = "https://evil.example"
        let refused = try TestClient.request(port: port, "OPTIONS", "/v1/completions", headers: evilPreflight)
        XCTAssertEqual(refused.status, 403)
        XCTAssertNil(refused.headers["Access-Control-Allow-Origin"])

        let fromApp = try post(
            "/v1/completions", #"{"prompt":"x","max_tokens":1}"#, headers: ["Origin": "HTTP://LOCALHOST:3000"])
        XCTAssertEqual(fromApp.status, 200)
        XCTAssertEqual(fromApp.headers["Access-Control-Allow-Origin"], "HTTP://LOCALHOST:3000")
        let fromEvil = try post(
            "/v1/completions", #"{"prompt":"x","max_tokens":1}"#, headers: ["Origin": "http://localhost:3001"])
        XCTAssertNil(fromEvil.headers["Access-Control-Allow-Origin"])
        XCTAssertNil(try get("/health").headers["Access-Control-Allow-Origin"])  // no Origin, no CORS
    }

    func testStarAllowsEveryOrigin() throws {
        try startApp { $0.corsOrigins = ["*"] }
        let response = try TestClient.request(port: port, "OPTIONS", "/generate_story", headers: preflight)
        XCTAssertEqual(response.status, 204)
        XCTAssertEqual(response.headers["Access-Control-Allow-Origin"], "*")
        XCTAssertEqual(try post("/generate_story", #"{"Prompt":"x"}"#).headers["Access-Control-Allow-Origin"], "*")
    }

    func testLoopbackExemptionIsClosedToForeignPagesAndProxiedRequests() throws {
        try startApp {
            $0.apiKeys = ["sekrit"]
            $0.corsOrigins = ["http://localhost:3000"]
        }
        let story = #"{"Prompt":"x"}"#
        XCTAssertEqual(try post("/generate_story", story).status, 200)  // a program on this machine
        XCTAssertEqual(try post("/generate_story", story, headers: ["Origin": "http://localhost:3000"]).status, 200)
        let page = try post("/generate_story", story, headers: ["Origin": "https://evil.example"])
        XCTAssertEqual(page.status, 401, page.text)
        XCTAssertEqual(
            try post("/translate", #"{"Text":"x","Tgt_lang":"spa_Latn"}"#, headers: ["Origin": "null"]).status, 401)
        XCTAssertEqual(try post("/generate_story", story, headers: ["X-Forwarded-For": "203.0.113.9"]).status, 401)
        XCTAssertEqual(try post("/generate_story", story, headers: ["Forwarded": "for=203.0.113.9"]).status, 401)
        let keyed = try post(
            "/generate_story", story, headers: ["Origin": "https://evil.example", "Authorization": "Bearer sekrit"])
        XCTAssertEqual(keyed.status, 200)
    }

    func testForeignHostIsRefusedWhenKeysAreSet() throws {
        try startApp {
            $0.apiKeys = ["sekrit"]
            $0.allowedHosts = ["api.example.com"]
        }
        let key = "Authorization: Bearer sekrit\r\n"
        let rebound = try request(host: "evil.example:\(port)", "/v1/models", extra: key)
        try assertOpenAIError(rebound, status: 421, code: "host_not_allowed", mentions: "--allowed-host evil.example")
        // DNS rebinding also targets the exempt legacy routes, which need no key from loopback.
        XCTAssertEqual(
            try request(host: "evil.example", "/generate_story", method: "POST", body: #"{"Prompt":"x"}"#).status, 421)
        for host in [
            "localhost:\(port)", "LOCALHOST", "127.0.0.1:\(port)", "[::1]:\(port)", "10.1.2.3", "api.example.com.",
            "API.example.com:443",
        ] {
            XCTAssertEqual(try request(host: host, "/v1/models", extra: key).status, 200, host)
        }
        XCTAssertEqual(try request(host: "evil.example", "/health").status, 200)  // probes of load balancers
    }

    func testAnyHostIsServedWithoutKeys() throws {
        try startApp()
        XCTAssertEqual(try request(host: "whatever.example", "/v1/models").status, 200)
    }

    func testKeysCanBeReplacedWhileServing() throws {
        try startApp { $0.apiKeys = ["old"] }
        let body = #"{"prompt":"x","max_tokens":1}"#
        XCTAssertEqual(try post("/v1/completions", body, headers: ["Authorization": "Bearer old"]).status, 200)
        app.apiKeys.replace(with: ["new-1", "new-2"])
        XCTAssertEqual(app.apiKeys.count, 2)
        XCTAssertEqual(try post("/v1/completions", body, headers: ["Authorization": "Bearer old"]).status, 401)
        XCTAssertEqual(try post("/v1/completions", body, headers: ["Authorization": "Bearer new-2"]).status, 200)
    }

    func testOriginAndHostParsing() {
        XCTAssertNil(AllowedOrigins.problem(with: "https://app.example.com:8443"))
        XCTAssertNil(AllowedOrigins.problem(with: "http://localhost:3000/"))
        XCTAssertNotNil(AllowedOrigins.problem(with: "app.example.com"))
        XCTAssertNotNil(AllowedOrigins.problem(with: "https://app.example.com/path"))
        XCTAssertNotNil(AllowedOrigins.problem(with: "https://user@app.example.com"))
        XCTAssertTrue(AllowedOrigins(["https://A.example/"]).allows("https://a.example"))
        XCTAssertFalse(AllowedOrigins(["https://a.example"]).allows("https://a.example.evil.com"))
        XCTAssertFalse(AllowedOrigins([]).allows("null"))
        XCTAssertEqual(HostAllowlistMiddleware.hostName(fromHostHeader: "[::1]:8080"), "::1")
        XCTAssertEqual(HostAllowlistMiddleware.hostName(fromHostHeader: "Example.com:80"), "Example.com")
        let hosts = HostAllowlistMiddleware(allowedHosts: [])
        XCTAssertFalse(hosts.allows(hostHeader: "localhost.evil.example"))
        XCTAssertFalse(hosts.allows(hostHeader: "127.0.0.1.nip.io"))
        XCTAssertFalse(hosts.allows(hostHeader: "[evil"))
        XCTAssertFalse(hosts.allows(hostHeader: ""))
    }

    /// A request with this exact `Host` header (TestClient.request always sends localhost).
    func request(host: String, _ target: String, method: String = "GET", extra: String = "", body: String? = nil) throws
        -> TestResponse
    {
        let client = try TestClient(port: port)
        var text = "\(method) \(target) HTTP/1.1\r\nHost: \(host)\r\nConnection: close\r\n\(extra)"
        if let body { text += "Content-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\n" }
        client.send(text + "\r\n" + (body ?? ""))
        return try client.readResponse()
    }
}
