import Foundation
import XCTest

@testable import HTTPServer
@testable import ServiceTestSupport

/// A deterministic mutation fuzzer for `RequestParser`, small enough to run on
/// every `swift test`.
///
/// It starts from a corpus of valid requests, applies random byte flips,
/// insertions, deletions, duplications, splices and dictionary tokens, and for
/// each input checks that the parser
/// - terminates (bounded number of `next()` calls, no crash, no trap),
/// - returns only requests, `.needMoreData` or a typed error, and stays failed after an error,
/// - never returns a request beyond its limits,
/// - gives exactly the same results whether the bytes arrive in one piece or in random pieces.
///
/// Seeded, so a failure reproduces; the failing input is printed escaped.
///
/// For longer, coverage-guided runs with libFuzzer (not part of CI), compile the
/// HTTP sources with an entry point that calls `RequestParserFuzzTests.check`
/// (or its body) on the fuzzer's bytes:
///
///     // Fuzz/main.swift
///     @_cdecl("LLVMFuzzerTestOneInput")
///     public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
///         let bytes = Array(UnsafeBufferPointer(start: data, count: size))
///         var whole = RequestParser(limits: .init(maxRequestHeadBytes: 512, maxBodyBytes: 256))
///         whole.feed(bytes)
///         while case .request = whole.next() {}
///         return 0
///     }
///
///     swiftc -sanitize=fuzzer,address -parse-as-library -module-name InferenceServer \
///         Sources/HTTPServer/*.swift Fuzz/main.swift -o fuzz-parser && ./fuzz-parser -max_len=4096
final class RequestParserFuzzTests: XCTestCase {
    static let corpus: [String] = [
        "GET / HTTP/1.1\r\nHost: localhost\r\n\r\n",
        "GET /v1/models?limit=10&after=a%20b HTTP/1.1\r\nHost: x\r\nAccept: application/json\r\nUser-Agent: "
            + "fuzz\r\n\r\n",
        "POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: "
            + "27\r\n\r\n{\"prompt\":\"hi\",\"n\":1234567}",
        "POST /upload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n6\r\n "
            + "world\r\n0\r\nTrailer: yes\r\n\r\n",
        "GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        "GET /old HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
        "GET http://example.com:80/abs?x=1 HTTP/1.1\r\nHost: example.com\r\n\r\n",
        "OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n",
        "POST /echo HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\nping",
        "DELETE /v1/jobs/%7Bid%7D/events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer sk-123\r\nX-A: 1\r\nX-A: "
            + "2\r\n\r\n",
        "\r\n\r\nHEAD /h HTTP/1.1\r\nHost: x\r\n\r\n",
        "PUT /p HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\nPATCH /q HTTP/1.1\r\nHost: x\r\nContent-Length: "
            + "2\r\n\r\nok",
    ]

    static let dictionary: [String] = [
        "\r\n", "\r\n\r\n", "\n", "\r", "\0", " ", "\t", ":", "%", "%00", "%zz", "?", "#", "/", "*",
        "Content-Length: ", "Content-Length: 5\r\n", "Content-Length: -1\r\n",
        "Content-Length: 99999999999999999999\r\n",
        "Transfer-Encoding: chunked\r\n", "Transfer-Encoding: gzip, chunked\r\n", "Host: y\r\n",
        "Expect: 100-continue\r\n",
        "0\r\n\r\n", "ffffffffffffffffff\r\n", "7fffffffffffffff\r\n", "1;a=b\r\n", "HTTP/1.1", "HTTP/1.0", "HTTP/2.0",
        "GET ", "POST ", " /x ", "Connection: close\r\n", String(repeating: "A", count: 300), "\u{FF}\u{FE}",
    ]

    /// Small limits, so the fuzzer reaches every limit check.
    static let smallLimits = RequestParser.Limits(
        maxRequestLineBytes: 64, maxRequestHeadBytes: 256, maxHeaderCount: 6,
        maxBodyBytes: 96, maxChunkSizeLineBytes: 24)

    func testMutatedRequestsParseTheSameWholeOrInPieces() {
        var random = SplitMix64(seed: 0x0C7A_F00D)
        let corpus = Self.corpus.map { Array($0.utf8) }
        let dictionary = Self.dictionary.map { Array($0.utf8) }
        let iterations = 20_000
        var requestsSeen = 0
        var failuresSeen = Set<String>()
        let started = Date()
        for iteration in 0..<iterations {
            var input = corpus[Int(random.next() % UInt64(corpus.count))]
            let mutationCount = 1 + Int(random.next() % 4)
            for _ in 0..<mutationCount {
                Self.mutate(&input, corpus: corpus, dictionary: dictionary, random: &random)
            }
            let limits = iteration % 2 == 0 ? Self.smallLimits : RequestParser.Limits()
            guard let result = Self.check(input, limits: limits, splitSeed: random.next()) else {
                XCTFail("iteration \(iteration): divergence or invariant broken on input \(Self.escaped(input))")
                return
            }
            requestsSeen += result.requests
            if let error = result.error { failuresSeen.insert(error.code) }
        }
        // The fuzzer is only useful if it exercises both paths broadly.
        XCTAssertGreaterThan(requestsSeen, iterations / 20)
        XCTAssertGreaterThan(failuresSeen.count, 15, "error kinds reached: \(failuresSeen.sorted())")
        print(
            "fuzz: \(iterations) inputs, \(requestsSeen) requests, \(failuresSeen.count) error kinds, "
                + String(format: "%.1f s", Date().timeIntervalSince(started)))
    }

    func testRandomBytesNeverTrap() {
        var random = SplitMix64(seed: 42)
        for _ in 0..<2_000 {
            let length = Int(random.next() % 600)
            let input = (0..<length).map { _ in UInt8(truncatingIfNeeded: random.next()) }
            XCTAssertNotNil(Self.check(input, limits: Self.smallLimits, splitSeed: random.next()), Self.escaped(input))
        }
    }

    // MARK: The property

    struct CheckResult {
        var requests: Int
        var error: HTTPParserError?
    }

    /// Parses `input` whole and in random pieces; nil when the two disagree or an invariant fails.
    static func check(_ input: [UInt8], limits: RequestParser.Limits, splitSeed: UInt64) -> CheckResult? {
        var whole = RequestParser(limits: limits)
        whole.feed(input)
        guard let wholeOutcomes = drain(&whole, limits: limits, inputSize: input.count) else { return nil }

        var pieces = RequestParser(limits: limits)
        var random = SplitMix64(seed: splitSeed)
        var pieceOutcomes: [RequestParser.Outcome] = []
        var offset = 0
        while offset < input.count {
            let size = min(input.count - offset, 1 + Int(random.next() % 48))
            pieces.feed(input[offset..<(offset + size)])
            offset += size
            guard let outcomes = drain(&pieces, limits: limits, inputSize: input.count) else { return nil }
            pieceOutcomes += outcomes
            if case .failure? = outcomes.last { break }
        }
        guard wholeOutcomes == pieceOutcomes,
            whole.errorAtEndOfStream == pieces.errorAtEndOfStream,
            whole.phase == pieces.phase || wholeOutcomes.last.map(isFailure) == true
        else { return nil }
        // Sticky failure.
        if case .failure(let error)? = wholeOutcomes.last {
            whole.feed(Array("GET / HTTP/1.1\r\nHost: x\r\n\r\n".utf8))
            guard whole.next() == .failure(error) else { return nil }
        }
        let requests = wholeOutcomes.filter { if case .request = $0 { return true } else { return false } }.count
        var error: HTTPParserError?
        if case .failure(let failure)? = wholeOutcomes.last { error = failure }
        return CheckResult(requests: requests, error: error)
    }

    /// Outcomes until more data is needed, without `.needMoreData`; nil if it does
    /// not stop or a request breaks a limit.
    private static func drain(
        _ parser: inout RequestParser, limits: RequestParser.Limits,
        inputSize: Int
    ) -> [RequestParser.Outcome]? {
        var outcomes: [RequestParser.Outcome] = []
        // Every request consumes at least a few bytes: more calls than bytes means a loop.
        for _ in 0...(inputSize + 2) {
            let outcome = parser.next()
            switch outcome {
            case .needMoreData:
                return outcomes
            case .failure:
                outcomes.append(outcome)
                return outcomes
            case .request(let request):
                guard request.body.count <= limits.maxBodyBytes, request.headers.count <= limits.maxHeaderCount,
                    !request.path.contains("\0"), request.path.hasPrefix("/") || request.path == "*"
                else { return nil }
                outcomes.append(outcome)
            }
        }
        return nil
    }

    private static func isFailure(_ outcome: RequestParser.Outcome) -> Bool {
        if case .failure = outcome { return true }
        return false
    }

    // MARK: Mutations

    static func mutate(
        _ input: inout [UInt8], corpus: [[UInt8]], dictionary: [[UInt8]],
        random: inout SplitMix64
    ) {
        func index(_ upper: Int) -> Int { upper <= 0 ? 0 : Int(random.next() % UInt64(upper)) }
        switch random.next() % 8 {
        case 0 where !input.isEmpty:  // flip a bit
            let at = index(input.count)
            input[at] ^= UInt8(1) << UInt8(random.next() % 8)
        case 1 where !input.isEmpty:  // replace a byte, biased to interesting ones
            let interesting: [UInt8] = [0, 9, 10, 13, 32, 37, 43, 44, 58, 59, 0x7F, 0x80, 0xFF]
            input[index(input.count)] =
                random.next() % 2 == 0
                ? interesting[index(interesting.count)] : UInt8(truncatingIfNeeded: random.next())
        case 2:  // insert random bytes
            let bytes = (0..<(1 + index(4))).map { _ in UInt8(truncatingIfNeeded: random.next()) }
            input.insert(contentsOf: bytes, at: index(input.count + 1))
        case 3 where !input.isEmpty:  // delete a range
            let start = index(input.count)
            input.removeSubrange(start..<min(input.count, start + 1 + index(16)))
        case 4 where !input.isEmpty:  // duplicate a range
            let start = index(input.count)
            let slice = Array(input[start..<min(input.count, start + 1 + index(64))])
            input.insert(contentsOf: slice, at: index(input.count + 1))
        case 5:  // splice with another corpus entry
            let other = corpus[index(corpus.count)]
            let cut = index(input.count + 1)
            let otherCut = index(other.count + 1)
            input = Array(input[..<cut]) + Array(other[otherCut...])
        case 6:  // insert a dictionary token
            input.insert(contentsOf: dictionary[index(dictionary.count)], at: index(input.count + 1))
        default:  // truncate
            input = Array(input.prefix(index(input.count + 1)))
        }
    }

    static func escaped(_ bytes: [UInt8]) -> String {
        bytes.map { byte -> String in
            switch byte {
            case 0x0D: return "\\r"
            case 0x0A: return "\\n"
            case 0x5C: return "\\\\"
            case 0x20...0x7E: return String(UnicodeScalar(byte))
            default: return String(format: "\\x%02X", byte)
            }
        }.joined()
    }
}

/// The same mutations against a live server: whatever arrives, the server keeps serving.
final class ServerFuzzTests: ServerTestCase {
    func testLiveServerSurvivesMutatedRequests() throws {
        try start {
            $0.maxRequestHeadBytes = 1024
            $0.maxBodyBytes = 512
            $0.headerTimeout = 2
        }
        var random = SplitMix64(seed: 2024)
        let corpus = RequestParserFuzzTests.corpus.map { Array($0.utf8) }
        let dictionary = RequestParserFuzzTests.dictionary.map { Array($0.utf8) }
        for _ in 0..<150 {
            var input = corpus[Int(random.next() % UInt64(corpus.count))]
            for _ in 0..<(1 + Int(random.next() % 3)) {
                RequestParserFuzzTests.mutate(&input, corpus: corpus, dictionary: dictionary, random: &random)
            }
            let client = try TestClient(port: port, timeout: 5)
            client.send(input)
            client.shutdownWrite()  // end of input: the server answers what it has, then closes
            let reply = client.readUntilClosed()
            if !reply.isEmpty {
                XCTAssertTrue(reply.starts(with: Array("HTTP/1.1 ".utf8)), RequestParserFuzzTests.escaped(input))
            }
        }
        XCTAssertTrue(eventually { self.server.openConnectionCount == 0 })
        assertHealthy()
    }
}
