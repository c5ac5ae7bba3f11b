import XCTest

@testable import HTTPServer
@testable import ServiceTestSupport

final class RequestParserTests: XCTestCase {
    // MARK: Helpers

    /// Feeds everything at once, then collects outcomes until more data is needed or it fails.
    static func outcomes(_ text: String, limits: RequestParser.Limits = .init()) -> [RequestParser.Outcome] {
        outcomes(Array(text.utf8), limits: limits)
    }

    static func outcomes(_ bytes: [UInt8], limits: RequestParser.Limits = .init()) -> [RequestParser.Outcome] {
        var parser = RequestParser(limits: limits)
        parser.feed(bytes)
        return drain(&parser)
    }

    static func drain(_ parser: inout RequestParser) -> [RequestParser.Outcome] {
        var results: [RequestParser.Outcome] = []
        while true {
            let outcome = parser.next()
            results.append(outcome)
            if case .request = outcome { continue }
            return results
        }
    }

    private func request(
        _ text: String, limits: RequestParser.Limits = .init(),
        file: StaticString = #filePath, line: UInt = #line
    ) -> HTTPRequest? {
        let results = Self.outcomes(text, limits: limits)
        guard case .request(let request)? = results.first else {
            XCTFail("expected a request, got \(results)", file: file, line: line)
            return nil
        }
        return request
    }

    private func assertFails(
        _ text: String, with expected: HTTPParserError, status: Int,
        limits: RequestParser.Limits = .init(), file: StaticString = #filePath, line: UInt = #line
    ) {
        assertFails(Array(text.utf8), with: expected, status: status, limits: limits, file: file, line: line)
    }

    private func assertFails(
        _ bytes: [UInt8], with expected: HTTPParserError, status: Int,
        limits: RequestParser.Limits = .init(), file: StaticString = #filePath, line: UInt = #line
    ) {
        let results = Self.outcomes(bytes, limits: limits)
        XCTAssertEqual(results.last, .failure(expected), "\(results)", file: file, line: line)
        XCTAssertEqual(expected.status.code, status, file: file, line: line)
    }

    // MARK: Valid requests

    func testSimpleGet() throws {
        let request = try XCTUnwrap(request("GET /v1/models HTTP/1.1\r\nHost: localhost\r\nAccept: */*\r\n\r\n"))
        XCTAssertEqual(request.method, .GET)
        XCTAssertEqual(request.path, "/v1/models")
        XCTAssertEqual(request.pathSegments, ["v1", "models"])
        XCTAssertEqual(request.version, .http1_1)
        XCTAssertEqual(request.headers["host"], "localhost")
        XCTAssertEqual(request.headers["ACCEPT"], "*/*")
        XCTAssertNil(request.query)
        XCTAssertEqual(request.body, [])
        XCTAssertTrue(request.wantsKeepAlive)
    }

    func testPostWithContentLength() throws {
        let body = #"{"prompt":"hi"}"#
        let request = try XCTUnwrap(
            request(
                "POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: "
                    + "\(body.utf8.count)\r\n\r\n\(body)"))
        XCTAssertEqual(request.method, .POST)
        XCTAssertEqual(request.bodyText, body)
    }

    func testHeadersAreAMultiMapKeepingOrderAndSpelling() throws {
        let request = try XCTUnwrap(
            request(
                "GET / HTTP/1.1\r\nHost: x\r\nX-A: 1\r\nx-a: 2\r\nX-B:   padded value "
                    + "\t\r\n\r\n"))
        XCTAssertEqual(request.headers.values(for: "X-A"), ["1", "2"])
        XCTAssertEqual(request.headers["x-b"], "padded value")
        XCTAssertEqual(request.headers.entries.map(\.name), ["Host", "X-A", "x-a", "X-B"])
    }

    func testEmptyHeaderValueIsAllowed() throws {
        let request = try XCTUnwrap(request("GET / HTTP/1.1\r\nHost: x\r\nX-Empty:\r\n\r\n"))
        XCTAssertEqual(request.headers["X-Empty"], "")
    }

    func testQueryAndPercentDecoding() throws {
        let request = try XCTUnwrap(
            request(
                "GET /v1/jobs/a%20b%2Fc/events?limit=10&name=caf%C3%A9+au+lait&flag "
                    + "HTTP/1.1\r\nHost: x\r\n\r\n"))
        XCTAssertEqual(request.path, "/v1/jobs/a b/c/events")
        XCTAssertEqual(request.pathSegments, ["v1", "jobs", "a b/c", "events"])
        XCTAssertEqual(request.query, "limit=10&name=caf%C3%A9+au+lait&flag")
        XCTAssertEqual(request.queryValue("limit"), "10")
        XCTAssertEqual(request.queryValue("name"), "café au lait")
        XCTAssertEqual(request.queryValue("flag"), "")
        XCTAssertNil(request.queryValue("missing"))
    }

    func testAbsoluteFormTarget() throws {
        let request = try XCTUnwrap(
            request(
                "GET http://example.com:8080/v1/models?x=1 HTTP/1.1\r\nHost: "
                    + "example.com\r\n\r\n"))
        XCTAssertEqual(request.path, "/v1/models")
        XCTAssertEqual(request.queryValue("x"), "1")
        let bare = try XCTUnwrap(self.request("GET HTTP://example.com HTTP/1.1\r\nHost: example.com\r\n\r\n"))
        XCTAssertEqual(bare.path, "/")
    }

    func testAsteriskFormOnlyForOptions() throws {
        let request = try XCTUnwrap(request("OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n"))
        XCTAssertEqual(request.path, "*")
        assertFails("GET * HTTP/1.1\r\nHost: x\r\n\r\n", with: .invalidTarget, status: 400)
    }

    func testHTTP10WithoutHostAndKeepAliveRules() throws {
        let plain = try XCTUnwrap(request("GET / HTTP/1.0\r\n\r\n"))
        XCTAssertEqual(plain.version, .http1_0)
        XCTAssertFalse(plain.wantsKeepAlive)
        let kept = try XCTUnwrap(request("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n"))
        XCTAssertTrue(kept.wantsKeepAlive)
        let closed = try XCTUnwrap(request("GET / HTTP/1.1\r\nHost: x\r\nConnection: foo, close\r\n\r\n"))
        XCTAssertFalse(closed.wantsKeepAlive)
    }

    func testHigherMinorVersionIsServedAsHTTP11() throws {
        let request = try XCTUnwrap(request("GET / HTTP/1.7\r\nHost: x\r\n\r\n"))
        XCTAssertEqual(request.version, .http1_1)
    }

    /// h11 refuses an empty line where a request line belongs (RFC 9112 §2.2 only says SHOULD skip).
    func testEmptyLineBeforeRequestIsRefused() {
        assertFails("\r\nGET /a HTTP/1.1\r\nHost: x\r\n\r\n", with: .invalidRequestLine, status: 400)
        let pipelined = "GET /a HTTP/1.1\r\nHost: x\r\n\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\n\r\n"
        XCTAssertEqual(Self.outcomes(pipelined).last, .failure(.invalidRequestLine))
    }

    func testPipelinedRequestsComeOutInOrder() {
        let text =
            "GET /a HTTP/1.1\r\nHost: x\r\n\r\nPOST /b HTTP/1.1\r\nHost: x\r\nContent-Length: "
            + "3\r\n\r\nabcGET /c HTTP/1.1\r\nHost: x\r\n\r\nGET /d"
        var parser = RequestParser()
        parser.feed(Array(text.utf8))
        let results = Self.drain(&parser)
        let paths = results.compactMap { outcome -> String? in
            if case .request(let request) = outcome { return request.path }
            return nil
        }
        XCTAssertEqual(paths, ["/a", "/b", "/c"])
        XCTAssertEqual(results.last, .needMoreData)
        XCTAssertEqual(parser.phase, .head)
        XCTAssertEqual(parser.bufferedByteCount, 6)
        XCTAssertEqual(parser.errorAtEndOfStream, .truncatedRequest)
    }

    func testChunkedBodyWithExtensionsAndTrailers() throws {
        let text =
            "POST /upload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
            + "5;name=value\r\nhello\r\n1;ext \u{1}\t\r\n \r\nA \r\n0123456789\r\n0\r\nX-Checksum: abc\r\n\r\n"
        let request = try XCTUnwrap(request(text))
        XCTAssertEqual(request.bodyText, "hello 0123456789")
    }

    func testZeroContentLengthPostIsComplete() throws {
        let request = try XCTUnwrap(request("POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: 000\r\n\r\n"))
        XCTAssertEqual(request.body, [])
    }

    func testDeleteWithoutLengthIsFine() throws {
        XCTAssertNotNil(request("DELETE /v1/jobs/1 HTTP/1.1\r\nHost: x\r\n\r\n"))
    }

    func testObsTextInHeaderValueIsTolerated() throws {
        let bytes = Array("GET / HTTP/1.1\r\nHost: x\r\nX-Name: caf".utf8) + [0xC3, 0xA9] + Array("\r\n\r\n".utf8)
        guard case .request(let request)? = Self.outcomes(bytes).first else { return XCTFail() }
        XCTAssertEqual(request.headers["X-Name"], "café")
    }

    // MARK: Incremental behaviour

    func testByteByByteFeedingGivesTheSameRequest() {
        let text =
            "POST /v1/x?y=1 HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: "
            + "chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\nGET / HTTP/1.1\r\nHost: y\r\n\r\n"
        var parser = RequestParser()
        var piecewise: [RequestParser.Outcome] = []
        for byte in text.utf8 {
            parser.feed([byte])
            piecewise += Self.drain(&parser).filter { $0 != .needMoreData }
        }
        let whole = Self.outcomes(text).filter { $0 != .needMoreData }
        XCTAssertEqual(piecewise, whole)
        XCTAssertEqual(whole.count, 2)
    }

    func testPhasesAndExpectContinue() {
        var parser = RequestParser()
        XCTAssertEqual(parser.phase, .idle)
        parser.feed(Array("POST /x HTTP/1.1\r\nHost: x\r\n".utf8))
        XCTAssertEqual(parser.next(), .needMoreData)
        XCTAssertEqual(parser.phase, .head)
        XCTAssertEqual(parser.currentPath, "/x")
        parser.feed(Array("Expect: 100-continue\r\nContent-Length: 4\r\n\r\n".utf8))
        XCTAssertEqual(parser.next(), .needMoreData)
        XCTAssertEqual(parser.phase, .body)
        XCTAssertTrue(parser.expectsContinue)
        parser.feed(Array("body".utf8))
        guard case .request(let request) = parser.next() else { return XCTFail() }
        XCTAssertEqual(request.bodyText, "body")
        XCTAssertFalse(parser.expectsContinue)
        XCTAssertEqual(parser.phase, .idle)
        XCTAssertNil(parser.errorAtEndOfStream)
    }

    func testFailureIsSticky() {
        var parser = RequestParser()
        parser.feed(Array("GET / HTTP/1.1\r\nBad Header: x\r\n\r\n".utf8))
        XCTAssertEqual(parser.next(), .failure(.invalidHeaderName))
        parser.feed(Array("GET / HTTP/1.1\r\nHost: x\r\n\r\n".utf8))
        XCTAssertEqual(parser.next(), .failure(.invalidHeaderName))
        XCTAssertEqual(parser.errorAtEndOfStream, .invalidHeaderName)
    }

    // MARK: Errors, one per case

    func testRequestLineErrors() {
        assertFails("GET /\r\n\r\n", with: .invalidRequestLine, status: 400)
        assertFails("GET  / HTTP/1.1\r\nHost: x\r\n\r\n", with: .invalidRequestLine, status: 400)
        assertFails("GET / HTTP/1.1 extra\r\nHost: x\r\n\r\n", with: .invalidRequestLine, status: 400)
        assertFails(Array("GET /\u{1}x HTTP/1.1\r\n".utf8), with: .invalidRequestLine, status: 400)
        assertFails([0x16, 0x03, 0x01, 0x02, 0x00], with: .invalidRequestLine, status: 400)  // a TLS ClientHello
        assertFails("G(ET / HTTP/1.1\r\nHost: x\r\n\r\n", with: .invalidMethod, status: 400)
        assertFails(" GET / HTTP/1.1\r\nHost: x\r\n\r\n", with: .invalidRequestLine, status: 400)
    }

    func testTargetErrors() {
        for target in [
            "abc", "/a#frag", "/a%zz", "/a%4", "/a%00b", "/a%FF", "/?q=%", "http://", "http:///x",
            "ftp://x/y", "example.com:443",
        ] {
            assertFails("GET \(target) HTTP/1.1\r\nHost: x\r\n\r\n", with: .invalidTarget, status: 400)
        }
    }

    func testVersionErrors() {
        assertFails("GET / HTTP/2.0\r\nHost: x\r\n\r\n", with: .unsupportedVersion, status: 505)
        assertFails("GET / HTTP/0.9\r\n\r\n", with: .unsupportedVersion, status: 505)
        assertFails("GET / HTTP/1\r\nHost: x\r\n\r\n", with: .invalidVersion, status: 400)
        assertFails("GET / http/1.1\r\nHost: x\r\n\r\n", with: .invalidVersion, status: 400)
        assertFails("GET / HTTP/1.10\r\nHost: x\r\n\r\n", with: .invalidVersion, status: 400)
    }

    func testLineTerminatorErrors() {
        assertFails("GET / HTTP/1.1\nHost: x\n\n", with: .invalidLineTerminator, status: 400)
        assertFails("GET / HTTP/1.1\r\nHost: x\n\r\n", with: .invalidLineTerminator, status: 400)
        assertFails("GET / HTTP/1.1\r\nHost: x\r\n\n", with: .invalidLineTerminator, status: 400)
    }

    func testHeaderFieldErrors() {
        assertFails("GET / HTTP/1.1\r\nHost : x\r\n\r\n", with: .invalidHeaderName, status: 400)
        assertFails("GET / HTTP/1.1\r\nNo colon\r\n\r\n", with: .invalidHeaderName, status: 400)
        assertFails("GET / HTTP/1.1\r\n: empty name\r\n\r\n", with: .invalidHeaderName, status: 400)
        assertFails("GET / HTTP/1.1\r\nHost: x\r\nX-A: 1\r\n  folded\r\n\r\n", with: .obsoleteLineFolding, status: 400)
        assertFails("GET / HTTP/1.1\r\n\tHost: x\r\n\r\n", with: .obsoleteLineFolding, status: 400)
        assertFails(
            Array("GET / HTTP/1.1\r\nHost: x\r\nX-A: a\u{0}b\r\n\r\n".utf8), with: .invalidHeaderValue, status: 400)
        assertFails("GET / HTTP/1.1\r\nHost: x\r\nX-A: a\rInjected: 1\r\n\r\n", with: .invalidHeaderValue, status: 400)
        assertFails(
            Array("GET / HTTP/1.1\r\nHost: x\r\nX-A: \u{7F}\r\n\r\n".utf8), with: .invalidHeaderValue, status: 400)
    }

    func testHostErrors() {
        assertFails("GET / HTTP/1.1\r\n\r\n", with: .missingHost, status: 400)
        assertFails("GET / HTTP/1.1\r\nHost: a\r\nhost: b\r\n\r\n", with: .duplicateHost, status: 400)
    }

    func testContentLengthErrors() {
        let head = "POST / HTTP/1.1\r\nHost: x\r\n"
        assertFails(head + "Content-Length: -1\r\n\r\n", with: .invalidContentLength, status: 400)
        assertFails(head + "Content-Length: abc\r\n\r\n", with: .invalidContentLength, status: 400)
        assertFails(head + "Content-Length: +5\r\n\r\n", with: .invalidContentLength, status: 400)
        assertFails(head + "Content-Length: 1 2\r\n\r\n", with: .invalidContentLength, status: 400)
        assertFails(head + "Content-Length: 5, 5\r\n\r\n", with: .duplicateContentLength, status: 400)
        assertFails(head + "Content-Length: 5, 6\r\n\r\n", with: .conflictingContentLength, status: 400)
        assertFails(head + "Content-Length: 5,\r\n\r\n", with: .conflictingContentLength, status: 400)
        assertFails(head + "Content-Length:\r\n\r\n", with: .invalidContentLength, status: 400)
        assertFails(head + "Content-Length: 0x10\r\n\r\n", with: .invalidContentLength, status: 400)
        assertFails(
            head + "Content-Length: 3\r\nContent-Length: 3\r\n\r\nabc", with: .duplicateContentLength, status: 400)
        assertFails(
            head + "Content-Length: 3\r\nContent-Length: 4\r\n\r\nabcd", with: .conflictingContentLength, status: 400)
        assertFails(head + "Content-Length: 99999999999999999999\r\n\r\n", with: .bodyTooLarge, status: 413)
        assertFails(head + "Content-Length: 9223372036854775807\r\n\r\n", with: .bodyTooLarge, status: 413)
        assertFails(
            head + "Content-Length: \(String(repeating: "9", count: 5000))\r\n\r\n", with: .invalidContentLength,
            status: 400)
        assertFails(head + "Content-Length: 1048577\r\n\r\n", with: .bodyTooLarge, status: 413)
        assertFails("POST / HTTP/1.1\r\nHost: x\r\n\r\n", with: .lengthRequired, status: 411)
        assertFails("PUT / HTTP/1.0\r\n\r\n", with: .lengthRequired, status: 411)
    }

    /// Up to 20 digits, leading zeros included, as h11 allows.
    func testLeadingZerosDoNotOverflow() throws {
        let request = try XCTUnwrap(
            request(
                "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: "
                    + "\(String(repeating: "0", count: 19))2\r\n\r\nhi"))
        XCTAssertEqual(request.bodyText, "hi")
        assertFails(
            "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: \(String(repeating: "0", count: 20))2\r\n\r\nhi",
            with: .invalidContentLength, status: 400)
    }

    func testTransferEncodingErrors() {
        let head = "POST / HTTP/1.1\r\nHost: x\r\n"
        assertFails(
            head + "Transfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n", with: .contentLengthWithTransferEncoding,
            status: 400)
        assertFails(head + "Transfer-Encoding: gzip, chunked\r\n\r\n", with: .unsupportedTransferEncoding, status: 501)
        assertFails(
            head + "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n",
            with: .unsupportedTransferEncoding, status: 501)
        assertFails(head + "Transfer-Encoding: chunked, gzip\r\n\r\n", with: .invalidTransferEncoding, status: 400)
        assertFails(head + "Transfer-Encoding: chunked,\r\n\r\n", with: .unsupportedTransferEncoding, status: 501)
        assertFails(head + "Transfer-Encoding: identity\r\n\r\n", with: .invalidTransferEncoding, status: 400)
        assertFails(head + "Transfer-Encoding:\r\n\r\n", with: .invalidTransferEncoding, status: 400)
        assertFails(
            "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", with: .invalidTransferEncoding, status: 400)
    }

    func testChunkedErrors() {
        let head = "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
        assertFails(head + "xyz\r\n", with: .invalidChunkedEncoding, status: 400)
        assertFails(head + "\r\n", with: .invalidChunkedEncoding, status: 400)
        assertFails(head + "-1\r\n", with: .invalidChunkedEncoding, status: 400)
        assertFails(head + "3\r\nabcX\r\n", with: .invalidChunkedEncoding, status: 400)
        assertFails(head + "3 x\r\nabc\r\n", with: .invalidChunkedEncoding, status: 400)
        assertFails(head + "3;a\rb\r\nabc\r\n", with: .invalidChunkedEncoding, status: 400)
        assertFails(head + "3 ;a\r\nabc\r\n", with: .invalidChunkedEncoding, status: 400)
        assertFails(head + "000000000000000000003\r\nabc\r\n", with: .invalidChunkedEncoding, status: 400)
        assertFails(
            head + "1;" + String(repeating: "e", count: 2000) + "\r\n", with: .invalidChunkedEncoding, status: 400)
        assertFails(head + "FFFFFFFFFFFFFFFFFFFF\r\n", with: .bodyTooLarge, status: 413)
        assertFails(head + "100001\r\n", with: .bodyTooLarge, status: 413)
        assertFails(head + "0\r\nBad Trailer\r\n\r\n", with: .invalidHeaderName, status: 400)
        assertFails(head + "0\r\ncontent-length: 3\r\n\r\n", with: .framingFieldInTrailers, status: 400)
        assertFails(head + "0\r\nTransfer-Encoding: chunked\r\n\r\n", with: .framingFieldInTrailers, status: 400)
        // Many small chunks add up past the limit.
        let limits = RequestParser.Limits(maxBodyBytes: 10)
        assertFails(head + "6\r\nabcdef\r\n6\r\nabcdef\r\n0\r\n\r\n", with: .bodyTooLarge, status: 413, limits: limits)
    }

    func testSizeLimits() {
        let limits = RequestParser.Limits(maxRequestLineBytes: 64, maxRequestHeadBytes: 128, maxHeaderCount: 3)
        assertFails(
            "GET /\(String(repeating: "a", count: 100)) HTTP/1.1\r\nHost: x\r\n\r\n", with: .requestLineTooLong,
            status: 414, limits: limits)
        // Without a line end in sight: refused as soon as the limit is passed.
        assertFails(
            "GET /\(String(repeating: "a", count: 100))", with: .requestLineTooLong, status: 414, limits: limits)
        assertFails(
            "GET / HTTP/1.1\r\nHost: x\r\nX-Big: \(String(repeating: "b", count: 120))\r\n\r\n",
            with: .headerSectionTooLarge, status: 431, limits: limits)
        assertFails(
            "GET / HTTP/1.1\r\nHost: x\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n", with: .tooManyHeaders, status: 431,
            limits: limits)
        assertFails(
            "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nA: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\n\r\n",
            with: .tooManyHeaders, status: 431, limits: limits)
        XCTAssertNotNil(request("GET / HTTP/1.1\r\nHost: x\r\nA: 1\r\nB: 2\r\n\r\n", limits: limits))
    }

    func testHeadAtExactlyTheLimitIsAccepted() {
        let base = "GET / HTTP/1.1\r\nHost: x\r\nX: \r\n\r\n"
        let padding = 200 - base.utf8.count
        let text = "GET / HTTP/1.1\r\nHost: x\r\nX: \(String(repeating: "p", count: padding))\r\n\r\n"
        XCTAssertEqual(text.utf8.count, 200)
        XCTAssertNotNil(request(text, limits: .init(maxRequestHeadBytes: 200)))
        assertFails(text, with: .headerSectionTooLarge, status: 431, limits: .init(maxRequestHeadBytes: 199))
    }

    func testExpectationErrors() {
        assertFails(
            "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nExpect: something-else\r\n\r\n",
            with: .unsupportedExpectation, status: 417)
        // An oversized body is refused before the client is told to continue.
        assertFails(
            "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999\r\nExpect: 100-continue\r\n\r\n",
            with: .bodyTooLarge, status: 413)
    }

    func testEndOfStreamMidRequest() {
        var parser = RequestParser()
        parser.feed(Array("GET / HTTP/1.1\r\nHo".utf8))
        XCTAssertEqual(parser.next(), .needMoreData)
        XCTAssertEqual(parser.errorAtEndOfStream, .truncatedRequest)
        XCTAssertEqual(HTTPParserError.truncatedRequest.status, .badRequest)
    }

    func testEveryErrorHasACodeAndMessage() {
        let all: [HTTPParserError] = [
            .requestLineTooLong, .headerSectionTooLarge, .tooManyHeaders, .invalidRequestLine, .invalidMethod,
            .invalidTarget, .invalidVersion, .unsupportedVersion, .invalidLineTerminator, .invalidHeaderName,
            .invalidHeaderValue, .obsoleteLineFolding, .missingHost, .duplicateHost, .invalidContentLength,
            .duplicateContentLength, .conflictingContentLength, .contentLengthWithTransferEncoding,
            .invalidTransferEncoding, .unsupportedTransferEncoding, .invalidChunkedEncoding, .framingFieldInTrailers,
            .lengthRequired,
            .bodyTooLarge, .unsupportedExpectation, .truncatedRequest,
        ]
        XCTAssertEqual(Set(all.map(\.code)).count, all.count)
        for error in all {
            XCTAssertFalse(error.description.isEmpty)
            XCTAssertTrue([400, 411, 413, 414, 417, 431, 501, 505].contains(error.status.code))
        }
    }
}
