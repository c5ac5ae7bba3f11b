import Foundation
import XCTest

@testable import HTTPServer
@testable import ServiceTestSupport

final class RouterTests: XCTestCase {
    private func call(_ router: HTTPResponder, _ target: String) throws -> HTTPResponse {
        try call(router, .GET, target)
    }

    private func call(
        _ router: HTTPResponder, _ method: HTTPMethod, _ target: String,
        headers: HTTPHeaders = ["Host": "x"]
    ) throws -> HTTPResponse {
        try router.respond(to: HTTPRequest(method: method, target: target, headers: headers), context: RequestContext())
    }

    private func text(_ response: HTTPResponse) -> String {
        guard case .bytes(let bytes) = response.body else { return "<stream>" }
        return String(decoding: bytes, as: UTF8.self)
    }

    private func echoRoute(_ name: String) -> Router.Handler {
        { request, _ in
            let parameters = request.pathParameters.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
            return .text(([name, request.route ?? "-"] + parameters).joined(separator: " "))
        }
    }

    // MARK: Matching

    func testPathParametersAreDecodedSegments() throws {
        let router = Router()
        router.get("/v1/jobs/{id}/events", echoRoute("events"))
        XCTAssertEqual(text(try call(router, "/v1/jobs/42/events")), "events /v1/jobs/{id}/events id=42")
        XCTAssertEqual(text(try call(router, "/v1/jobs/a%2Fb%20c/events")), "events /v1/jobs/{id}/events id=a/b c")
        XCTAssertEqual(try call(router, "/v1/jobs//events").status, .notFound)
        XCTAssertEqual(try call(router, "/v1/jobs/42").status, .notFound)
        XCTAssertEqual(try call(router, "/v1/jobs/42/events/more").status, .notFound)
    }

    func testRemainderParameterTakesTheRestOfThePath() throws {
        let router = Router()
        router.get("/v1/models/{model...}", echoRoute("model"))
        XCTAssertEqual(
            text(try call(router, "/v1/models/facebook/nllb-200")),
            "model /v1/models/{model...} model=facebook/nllb-200")
        XCTAssertEqual(text(try call(router, "/v1/models/gpt2")), "model /v1/models/{model...} model=gpt2")
        XCTAssertEqual(try call(router, "/v1/models").status, .notFound)
    }

    func testMostSpecificPatternWinsWhateverTheOrder() throws {
        let router = Router()
        router.get("/v1/{anything...}", echoRoute("catch-all"))
        router.get("/v1/jobs/{id}", echoRoute("job"))
        router.get("/v1/jobs/stats", echoRoute("stats"))
        XCTAssertEqual(text(try call(router, "/v1/jobs/stats")), "stats /v1/jobs/stats")
        XCTAssertEqual(text(try call(router, "/v1/jobs/7")), "job /v1/jobs/{id} id=7")
        XCTAssertEqual(text(try call(router, "/v1/other/x")), "catch-all /v1/{anything...} anything=other/x")
    }

    func testTrailingSlashAndRoot() throws {
        let router = Router()
        router.get("/", echoRoute("root"))
        router.get("/health/", echoRoute("health"))
        XCTAssertEqual(text(try call(router, "/")), "root /")
        XCTAssertEqual(text(try call(router, "/health")), "health /health")
        XCTAssertEqual(text(try call(router, "/health/")), "health /health")
    }

    func testReRegistrationReplaces() throws {
        let router = Router()
        router.get("/x", echoRoute("first"))
        router.get("/x", echoRoute("second"))
        XCTAssertEqual(text(try call(router, "/x")), "second /x")
    }

    // MARK: Methods

    func testMethodNotAllowedListsAllowedMethods() throws {
        let router = Router()
        router.get("/v1/jobs/{id}", echoRoute("get"))
        router.delete("/v1/jobs/{id}", echoRoute("delete"))
        router.get("/v1/jobs/stats", echoRoute("stats"))
        let response = try call(router, .POST, "/v1/jobs/1")
        XCTAssertEqual(response.status, .methodNotAllowed)
        XCTAssertEqual(response.headers["Allow"], "GET, DELETE, HEAD, OPTIONS")
        // The literal route's methods only: DELETE /v1/jobs/{id} does not leak onto /v1/jobs/stats.
        XCTAssertEqual(try call(router, .DELETE, "/v1/jobs/stats").headers["Allow"], "GET, HEAD, OPTIONS")
    }

    func testHeadFallsBackToGetAndOptionsIsAnswered() throws {
        let router = Router()
        router.get("/x", echoRoute("get"))
        router.post("/y", echoRoute("post"))
        XCTAssertEqual(text(try call(router, .HEAD, "/x")), "get /x")
        let options = try call(router, .OPTIONS, "/y")
        XCTAssertEqual(options.status, .noContent)
        XCTAssertEqual(options.headers["Allow"], "POST, OPTIONS")
        XCTAssertEqual(try call(router, .HEAD, "/y").status, .methodNotAllowed)
    }

    // MARK: Errors

    func testNotFoundBodyIsOpenAIShaped() throws {
        let response = try call(Router(), "/v1/nope")
        XCTAssertEqual(response.status, .notFound)
        XCTAssertEqual(response.headers["Content-Type"], "application/json")
        let json = try JSONSerialization.jsonObject(with: Data(text(response).utf8)) as? [String: [String: Any]]
        XCTAssertEqual(json?["error"]?["type"] as? String, "invalid_request_error")
        XCTAssertEqual(json?["error"]?["code"] as? String, "unknown_url")
        XCTAssertEqual(json?["error"]?["message"] as? String, "Invalid URL (GET /v1/nope)")
    }

    func testRendererCanChooseTheShapeByPath() throws {
        let router = Router(errorRenderer: { report in
            (report.path ?? "").hasPrefix("/v1/")
                ? HTTPErrorRenderers.openAI(report) : HTTPErrorRenderers.legacy(report)
        })
        router.post("/translate") { _, _ in throw HTTPError(.badRequest, "Missing \"text\" field") }
        XCTAssertEqual(
            text(try call(router, .POST, "/translate")), #"{"error":"Missing \"text\" field","Status":false}"#)
        XCTAssertTrue(text(try call(router, "/v1/x")).hasPrefix(#"{"error":{"message""#))
    }

    func testErrorsOfAllKinds() throws {
        struct Hidden: Error {}
        struct Teapot: HTTPResponseError {
            var status: HTTPStatus { HTTPStatus(code: 418, reasonPhrase: "I'm a teapot") }
            var customResponse: HTTPResponse? { .text("short and stout", status: status) }
        }
        let hooked = Observations()
        let router = Router()
        router.onInternalError { error, request in hooked.record("\(request.path) \(error)") }
        router.get("/hidden") { _, _ in throw Hidden() }
        router.get("/teapot") { _, _ in throw Teapot() }
        router.get("/later") { _, _ in throw HTTPError.retryLater(.serviceUnavailable, "Model loading", afterSeconds: 3)
        }

        let hidden = try call(router, "/hidden")
        XCTAssertEqual(hidden.status, .internalServerError)
        XCTAssertFalse(text(hidden).contains("Hidden"))
        XCTAssertEqual(hooked.all, ["/hidden Hidden()"])
        let teapot = try call(router, "/teapot")
        XCTAssertEqual(teapot.status.code, 418)
        XCTAssertEqual(text(teapot), "short and stout")
        let later = try call(router, "/later")
        XCTAssertEqual(later.status, .serviceUnavailable)
        XCTAssertEqual(later.headers["Retry-After"], "3")
    }

    func testDecodeJSONReportsA400() throws {
        struct Body: Decodable { let prompt: String }
        let router = Router()
        router.post("/c") { request, _ in .text(try request.decodeJSON(Body.self).prompt) }
        func post(_ body: String) throws -> HTTPResponse {
            try router.respond(
                to: HTTPRequest(method: .POST, target: "/c", headers: ["Host": "x"], body: Array(body.utf8)),
                context: RequestContext())
        }
        XCTAssertEqual(text(try post(#"{"prompt":"hi"}"#)), "hi")
        let missing = try post(#"{"other":1}"#)
        XCTAssertEqual(missing.status, .badRequest)
        XCTAssertTrue(text(missing).contains("missing field 'prompt'"))
        XCTAssertTrue(text(try post("{not json")).contains(#""code":"invalid_json""#))
    }

    // MARK: Middleware

    func testMiddlewareOrderAndErrorsReachOuterLayers() throws {
        let trail = Observations()
        func tagging(_ name: String) -> ClosureMiddleware {
            ClosureMiddleware { request, context, next in
                trail.record("\(name) in")
                var response = try next(request, context)
                response.headers.add("X-Trail", name)
                trail.record("\(name) out")
                return response
            }
        }
        let router = Router()
        router.use(tagging("outer"))
        router.use(tagging("inner"))
        router.use(
            ClosureMiddleware { request, context, next in
                if request.path == "/forbidden" { throw HTTPError(.forbidden, "no") }
                return try next(request, context)
            })
        router.get("/ok") { _, _ in .text("ok") }
        router.get("/forbidden") { _, _ in .text("unreachable") }

        XCTAssertEqual(try call(router, "/ok").headers.values(for: "X-Trail"), ["inner", "outer"])
        XCTAssertEqual(trail.all, ["outer in", "inner in", "inner out", "outer out"])
        let forbidden = try call(router, "/forbidden")
        XCTAssertEqual(forbidden.status, .forbidden)
        XCTAssertEqual(
            forbidden.headers.values(for: "X-Trail"), ["inner", "outer"], "errors pass through outer middleware")
        XCTAssertEqual(try call(router, "/missing").headers.values(for: "X-Trail"), ["inner", "outer"])
    }

    func testWrappedResponderForAPerListenerDefault() throws {
        let router = Router()
        router.get("/model") { request, _ in .text(request.headers["X-Default-Model"] ?? "none") }
        let nllbPort = router.wrapped(
            in: ClosureMiddleware { request, context, next in
                var request = request
                request.headers.set("X-Default-Model", "nllb-200")
                return try next(request, context)
            })
        XCTAssertEqual(text(try call(nllbPort, "/model")), "nllb-200")
        XCTAssertEqual(text(try call(router, "/model")), "none")
        XCTAssertEqual(try call(nllbPort, "/missing").status, .notFound)
    }

    func testCORSPreflightOnlyForKnownRoutes() throws {
        let router = Router()
        router.use(CORSMiddleware(allowHeaders: ["Authorization", "Content-Type"], exposeHeaders: ["X-Request-Id"]))
        router.post("/v1/completions") { _, _ in .text("done") }
        let preflightHeaders: HTTPHeaders = [
            "Host": "x", "Origin": "https://a.example",
            "Access-Control-Request-Method": "POST",
        ]
        let preflight = try call(router, .OPTIONS, "/v1/completions", headers: preflightHeaders)
        XCTAssertEqual(preflight.status, .noContent)
        XCTAssertEqual(preflight.headers["Access-Control-Allow-Headers"], "Authorization, Content-Type")
        XCTAssertEqual(preflight.headers["Access-Control-Max-Age"], "86400")
        let unknown = try call(router, .OPTIONS, "/nope", headers: preflightHeaders)
        XCTAssertEqual(unknown.status, .notFound)
        XCTAssertEqual(unknown.headers["Access-Control-Allow-Origin"], "*")
        let plainOptions = try call(router, .OPTIONS, "/v1/completions")
        XCTAssertEqual(plainOptions.headers["Allow"], "POST, OPTIONS")
        XCTAssertEqual(plainOptions.headers["Access-Control-Expose-Headers"], "X-Request-Id")
    }

    // MARK: Auth

    func testBearerAuth() throws {
        let router = Router()
        router.use(
            BearerAuthMiddleware(
                apiKeys: ["key-one", "key-two"],
                exemptRoutes: ["/health", "GET /v1/models", "/v1/jobs/{id}/"]))
        for path in ["/health", "/v1/models", "/v1/jobs/{id}", "/private"] {
            router.get(path) { _, _ in .text("open") }
            router.post(path) { _, _ in .text("open") }
        }
        func status(_ method: HTTPMethod, _ path: String, _ authorization: String? = nil) throws -> Int {
            var headers: HTTPHeaders = ["Host": "x"]
            if let authorization { headers.add("Authorization", authorization) }
            return try call(router, method, path, headers: headers).status.code
        }
        XCTAssertEqual(try status(.GET, "/private"), 401)
        XCTAssertEqual(try status(.GET, "/private", "Bearer key-two"), 200)
        XCTAssertEqual(try status(.GET, "/private", "bearer   key-one"), 200)
        XCTAssertEqual(try status(.GET, "/private", "Bearer key-on"), 401)
        XCTAssertEqual(try status(.GET, "/private", "Bearer key-one2"), 401)
        XCTAssertEqual(try status(.GET, "/private", "Basic a2V5LW9uZQ=="), 401)
        XCTAssertEqual(try status(.GET, "/private", "Bearer"), 401)
        XCTAssertEqual(try status(.GET, "/nowhere"), 401, "unknown routes are not revealed")
        XCTAssertEqual(try status(.GET, "/health"), 200)
        XCTAssertEqual(try status(.POST, "/health"), 200)
        XCTAssertEqual(try status(.GET, "/v1/models"), 200)
        XCTAssertEqual(try status(.HEAD, "/v1/models"), 200)
        XCTAssertEqual(try status(.POST, "/v1/models"), 401, "exempt for GET only")
        XCTAssertEqual(try status(.GET, "/v1/jobs/123"), 200)
        XCTAssertEqual(try status(.OPTIONS, "/private"), 204)
        let missing = try call(router, "/private")
        XCTAssertEqual(missing.headers["WWW-Authenticate"], "Bearer")
        XCTAssertTrue(text(missing).contains(#""code":"missing_api_key""#))

        let open = Router()
        open.use(BearerAuthMiddleware(apiKeys: []))
        open.get("/x") { _, _ in .text("x") }
        XCTAssertEqual(try call(open, "/x").status, .ok, "no keys configured: auth off")
    }

    func testConstantTimeEquals() {
        XCTAssertTrue(ConstantTime.equals("sk-abc", "sk-abc"))
        XCTAssertFalse(ConstantTime.equals("sk-abc", "sk-abd"))
        XCTAssertFalse(ConstantTime.equals("sk-abc", "sk-ab"))
        XCTAssertFalse(ConstantTime.equals("", "x"))
        XCTAssertTrue(ConstantTime.equals("", ""))
        XCTAssertFalse(ConstantTime.equals([0], []), "a NUL is not the same as nothing")
        XCTAssertTrue(ConstantTime.matchesAny(Array("b".utf8), [Array("a".utf8), Array("b".utf8)]))
        XCTAssertFalse(ConstantTime.matchesAny(Array("c".utf8), [Array("a".utf8), Array("b".utf8)]))
    }

    // MARK: Streaming helpers

    func testServerSentEventFormatting() throws {
        XCTAssertEqual(ServerSentEventWriter.format(data: "{}", event: nil, id: nil), "data: {}\n\n")
        XCTAssertEqual(
            ServerSentEventWriter.format(data: "a\nb\r\nc\rd", event: "token", id: "7"),
            "event: token\nid: 7\ndata: a\ndata: b\ndata: c\ndata: d\n\n")
        XCTAssertEqual(
            ServerSentEventWriter.format(data: "x", event: "evil\ndata: injected", id: nil),
            "event: evil data: injected\ndata: x\n\n")

        let collector = BodyCollector()
        let response = HTTPResponse.eventStream { events in
            events.send(data: "one")
            events.comment("ping")
        }
        guard case .stream(let produce) = response.body else { return XCTFail() }
        try produce(ResponseBodyWriter.collecting(into: collector))
        XCTAssertEqual(collector.text, "data: one\n\n: ping\n\n")
        XCTAssertEqual(response.headers["Content-Type"], "text/event-stream")
    }

    func testWriterStopsAfterDisconnect() {
        let signal = DisconnectSignal()
        let collector = BodyCollector()
        let writer = ResponseBodyWriter.collecting(into: collector, disconnect: signal)
        let fired = Observations()
        signal.onDisconnect { fired.record("fired") }
        XCTAssertTrue(writer.write("a"))
        XCTAssertTrue(writer.isClientConnected)
        signal.markDisconnected()
        signal.markDisconnected()
        XCTAssertFalse(writer.write("b"))
        XCTAssertFalse(writer.isClientConnected)
        XCTAssertEqual(collector.text, "a")
        XCTAssertEqual(fired.all, ["fired"])
        signal.onDisconnect { fired.record("late") }
        XCTAssertEqual(fired.all, ["fired", "late"], "late registrations run at once")
        XCTAssertTrue(signal.wait(timeout: 0))
    }

    func testAsyncBridgeReturnsAndCancelsOnDisconnect() throws {
        XCTAssertEqual(try AsyncBridge.run { 6 * 7 }, 42)
        struct Oops: Error {}
        XCTAssertThrowsError(try AsyncBridge.run { () async throws -> Int in throw Oops() })

        let signal = DisconnectSignal()
        DispatchQueue.global().asyncAfter(deadline: .now() + 0.1) { signal.markDisconnected() }
        let started = Date()
        XCTAssertThrowsError(
            try AsyncBridge.run(cancellingOn: signal) { () async throws -> Int in
                try await Task.sleep(nanoseconds: 20_000_000_000)
                return 1
            })
        XCTAssertLessThan(Date().timeIntervalSince(started), 5)
    }

    func testStatusAndHeadersBasics() {
        XCTAssertEqual(HTTPStatus(code: 999).code, 500)
        XCTAssertEqual(HTTPStatus(code: 200, reasonPhrase: "Fine\r\nX: y").reasonPhrase, "FineX: y")
        XCTAssertFalse(HTTPStatus.noContent.allowsBody)
        var headers: HTTPHeaders = ["Content-Type": "a"]
        headers.add("content-type", "b")
        XCTAssertEqual(headers.values(for: "CONTENT-TYPE"), ["a", "b"])
        headers.set("Content-Type", "c")
        XCTAssertEqual(headers.values(for: "content-type"), ["c"])
        headers.remove("CONTENT-type")
        XCTAssertTrue(headers.isEmpty)
        XCTAssertEqual(JSONText.quoted("a\"b\\c\n\u{1}"), #""a\"b\\c\n\u0001""#)
    }
}
