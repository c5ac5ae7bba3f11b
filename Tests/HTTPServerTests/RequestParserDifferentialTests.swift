import Foundation
import XCTest

@testable import HTTPServer
@testable import ServiceTestSupport

/// Differential test of `RequestParser` against h11, a strict pure-Python HTTP/1.1 parser.
///
/// `Tests/Fixtures/HTTPCorpus/h11_corpus.json` holds a few hundred seeded mutations of valid
/// requests with h11's verdict on each (made by `scripts/fixtures/make_http_corpus.py`; no
/// Python runs here). Every case is fed to our parser followed by end of stream, and:
/// - every request h11 accepted must come out with the same method, target, version, header
///   values (compared as h11 normalizes them) and body;
/// - where h11 refused the stream, ours must fail at the same request, with an `HTTPParserError`;
/// - where h11 ended cleanly, ours must too.
/// We refuse more than h11 only on purpose, and each such case must be explained by one of
/// `Deviation`'s reasons (checked against what h11 parsed), never by a bare error.
final class RequestParserDifferentialTests: XCTestCase {
    // MARK: The corpus

    struct Corpus: Decodable {
        var h11Version: String
        var cases: [Case]

        enum CodingKeys: String, CodingKey {
            case h11Version = "h11_version"
            case cases
        }
    }

    struct Case: Decodable {
        var id: String
        var seed: String
        var mutation: String
        /// Latin-1 code points standing for bytes.
        var input: String
        var h11: Verdict

        var bytes: [UInt8] { latin1Bytes(input) }
    }

    struct Verdict: Decodable {
        var requests: [ReferenceRequest]
        /// `eof` (clean end between requests), `close` (h11 would close after the last request;
        /// the rest is not judged) or `error` (h11 refused what followed the accepted requests).
        var end: String
        var error: String?
        var status: Int?
    }

    struct ReferenceRequest: Decodable {
        var method: String
        var target: String
        var version: String
        /// Lowercased names, values as received without surrounding whitespace.
        var headers: [[String]]
        var body: String
        var trailers: [[String]]

        func values(_ name: String) -> [[UInt8]] {
            headers.filter { $0[0] == name }.map { latin1Bytes($0[1]) }
        }
    }

    static let corpusURL = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/HTTPCorpus/h11_corpus.json")

    static func loadCorpus() throws -> Corpus {
        try JSONDecoder().decode(Corpus.self, from: Data(contentsOf: corpusURL))
    }

    // MARK: Our side

    struct Parsed {
        var requests: [HTTPRequest]
        /// The failure, or the error at end of stream; nil for a clean end.
        var error: HTTPParserError?
    }

    /// Default limits: the server's own.
    static func parse(_ bytes: [UInt8]) -> Parsed {
        var parser = RequestParser()
        parser.feed(bytes)
        var requests: [HTTPRequest] = []
        while true {
            switch parser.next() {
            case .request(let request): requests.append(request)
            case .failure(let error): return Parsed(requests: requests, error: error)
            case .needMoreData: return Parsed(requests: requests, error: parser.errorAtEndOfStream)
            }
        }
    }

    // MARK: Deliberate differences

    /// Why we refuse something h11 accepts. Each reason is checked against h11's own parse of
    /// the request (or the raw bytes), so an unrelated refusal cannot hide behind it.
    enum Deviation: String, CaseIterable {
        case obsoleteLineFolding = "obs-fold (RFC 9112 §5.2 lets a server refuse it; proxies disagree on it)"
        case bareLineEnding = "bare LF or bare CR as a line ending (smuggling: framing differs between hops)"
        case duplicateContentLength = "repeated identical Content-Length, as lines or a list (smuggling vector)"
        case contentLengthWithChunked = "Content-Length with Transfer-Encoding (RFC 9112 §6.3: CL.TE smuggling)"
        case chunkedInHTTP10 = "Transfer-Encoding in an HTTP/1.0 request (RFC 9112 §6.1: framing is faulty)"
        case controlCharacterInValue = "control character in a field value (RFC 9110 §5.5: invalid)"
        case framingFieldInTrailers = "Content-Length or Transfer-Encoding in chunked trailers"
        case unsupportedVersion = "HTTP version other than 1.x (505)"
        case hostInHigherMinorVersion = "HTTP/1.2+ without Host: answered as HTTP/1.1, which requires it"
        case unsupportedTarget = "target form we do not route: fragment, authority form, other scheme, bad escape"
        case lengthRequired = "POST/PUT/PATCH without a body length (411)"
        case unsupportedExpectation = "Expect other than 100-continue (417)"
    }

    /// The reason that explains refusing `reference` with `error`, or nil when none does.
    static func deviation(for error: HTTPParserError, reference: ReferenceRequest, input: [UInt8]) -> Deviation? {
        let has = { (name: String) in !reference.values(name).isEmpty }
        switch error {
        case .obsoleteLineFolding:
            return containsSequence(input, [ASCII.lf, ASCII.space]) || containsSequence(input, [ASCII.lf, ASCII.tab])
                ? .obsoleteLineFolding : nil
        case .invalidLineTerminator:
            return input.indices.contains { input[$0] == ASCII.lf && ($0 == 0 || input[$0 - 1] != ASCII.cr) }
                ? .bareLineEnding : nil
        case .invalidChunkedEncoding:
            // A CR inside a chunk extension, which h11 takes as part of the extension.
            return has("transfer-encoding")
                && input.indices.contains { input[$0] == ASCII.cr && input.dropFirst($0 + 1).first != ASCII.lf }
                ? .bareLineEnding : nil
        case .duplicateContentLength:
            let repeated = rawFieldSections(input).contains { section in
                let lines = section.filter { asciiCaseInsensitiveEquals($0.name, "content-length") }
                return lines.count > 1 || lines.contains { $0.value.contains(",") }
            }
            return has("content-length") && repeated ? .duplicateContentLength : nil
        case .contentLengthWithTransferEncoding:
            return has("content-length") && has("transfer-encoding") ? .contentLengthWithChunked : nil
        case .invalidTransferEncoding:
            return reference.version == "1.0" && has("transfer-encoding") ? .chunkedInHTTP10 : nil
        case .invalidHeaderValue:
            let values = (reference.headers + reference.trailers).map { latin1Bytes($0[1]) }
            return values.contains { $0.contains { ($0 < 0x20 && $0 != ASCII.tab) || $0 == 0x7F } }
                ? .controlCharacterInValue : nil
        case .framingFieldInTrailers:
            return reference.trailers.contains { ["content-length", "transfer-encoding"].contains($0[0]) }
                ? .framingFieldInTrailers : nil
        case .unsupportedVersion:
            return !reference.version.hasPrefix("1.") ? .unsupportedVersion : nil
        case .missingHost:
            return !has("host") && reference.version.hasPrefix("1.") && reference.version > "1.1"
                ? .hostInHigherMinorVersion : nil
        case .invalidTarget:
            let target = latin1Bytes(reference.target)
            return (try? RequestTarget.parse(target, method: HTTPMethod(reference.method))) == nil
                ? .unsupportedTarget : nil
        case .lengthRequired:
            return ["POST", "PUT", "PATCH"].contains(reference.method) && !has("content-length")
                && !has("transfer-encoding") ? .lengthRequired : nil
        case .unsupportedExpectation:
            let expectations = reference.values("expect").map { String(decoding: $0, as: UTF8.self).lowercased() }
            return expectations.contains { $0 != "100-continue" } ? .unsupportedExpectation : nil
        default:
            return nil
        }
    }

    // MARK: The comparison

    /// Differences between our request and h11's, as readable lines (empty when they agree).
    static func differences(_ ours: HTTPRequest, _ reference: ReferenceRequest) -> [String] {
        var found: [String] = []
        if ours.method.rawValue != reference.method { found.append("method \(ours.method) vs \(reference.method)") }
        if ours.target != reference.target { found.append("target \(ours.target) vs \(reference.target)") }
        let version = reference.version == "1.0" ? HTTPVersion.http1_0 : .http1_1
        if ours.version != version { found.append("version \(ours.version) vs \(reference.version)") }
        // h11 lowercases names and Transfer-Encoding values; values that are not UTF-8 can
        // only be compared the way our String-valued headers hold them.
        let ourHeaders = ours.headers.map { field -> [String] in
            let name = field.name.lowercased()
            return [name, name == "transfer-encoding" ? field.value.lowercased() : field.value]
        }
        let referenceHeaders = reference.headers.map { [$0[0], String(decoding: latin1Bytes($0[1]), as: UTF8.self)] }
        if ourHeaders != referenceHeaders { found.append("headers \(ourHeaders) vs \(referenceHeaders)") }
        if ours.body != latin1Bytes(reference.body) {
            found.append("body \(escaped(ours.body)) vs \(escaped(latin1Bytes(reference.body)))")
        }
        return found
    }

    struct Comparison {
        var disagreements: [String] = []
        var deviations: [Deviation: [String]] = [:]
        var agreedAccepts = 0
        var agreedRejects = 0
        var rejectStatuses: [Int: Int] = [:]
    }

    static func compare(_ cases: [Case]) -> Comparison {
        var result = Comparison()
        for testCase in cases {
            let input = testCase.bytes
            let ours = parse(input)
            let reference = testCase.h11
            func disagree(_ what: String) {
                result.disagreements.append(
                    "\(testCase.id) [\(testCase.mutation)] \(what)\n    input: \(escaped(input))"
                        + "\n    h11: \(reference.end) \(reference.error ?? "") after \(reference.requests.count) "
                        + "request(s)"
                        + "; ours: \(ours.error?.code ?? "no error") after \(ours.requests.count)")
            }
            var deviated = false
            for (index, expected) in reference.requests.enumerated() {
                guard index < ours.requests.count else {
                    if let error = ours.error, let reason = deviation(for: error, reference: expected, input: input) {
                        result.deviations[reason, default: []].append(testCase.id)
                        deviated = true
                    } else {
                        disagree("request \(index): h11 accepts, we refuse")
                    }
                    break
                }
                let found = differences(ours.requests[index], expected)
                if !found.isEmpty { disagree("request \(index): " + found.joined(separator: "; ")) }
            }
            guard !deviated, ours.requests.count >= reference.requests.count else { continue }
            switch reference.end {
            case "error":
                if ours.requests.count > reference.requests.count || ours.error == nil {
                    disagree("h11 refuses, we accept")
                } else if let error = ours.error {
                    result.agreedRejects += 1
                    result.rejectStatuses[error.status.code, default: 0] += 1
                }
            case "eof":
                if ours.requests.count > reference.requests.count || ours.error != nil {
                    disagree("h11 ends cleanly, we do not")
                } else {
                    result.agreedAccepts += 1
                }
            default:
                result.agreedAccepts += 1  // h11 closes after the last accepted request
            }
        }
        return result
    }

    // MARK: Tests

    func testEveryCaseAgreesWithH11() throws {
        let corpus = try Self.loadCorpus()
        XCTAssertGreaterThan(corpus.cases.count, 300, "corpus too small: regenerate it")
        let result = Self.compare(corpus.cases)
        let statuses = result.rejectStatuses.sorted { $0.key < $1.key }.map { "\($0.value) x \($0.key)" }
        print(
            "h11 \(corpus.h11Version) corpus: \(corpus.cases.count) cases, \(result.agreedAccepts) accepted "
                + "and \(result.agreedRejects) refused by both (our statuses: \(statuses.joined(separator: ", "))), "
                + "\(result.deviations.values.map(\.count).reduce(0, +)) deliberately refused, "
                + "\(result.disagreements.count) disagreements")
        for reason in Deviation.allCases {
            if let ids = result.deviations[reason] { print("  \(ids.count) x \(reason.rawValue)") }
        }
        for disagreement in result.disagreements { XCTFail(disagreement) }
        // Both sides must be exercised, or the test proves nothing.
        XCTAssertGreaterThan(result.agreedAccepts, 100)
        XCTAssertGreaterThan(result.agreedRejects, 200)
    }

    /// A refusal h11 does not share must be explained: the comparison itself has to catch a
    /// parser that refuses too much, and one that accepts too much.
    func testComparisonCatchesEitherKindOfDisagreement() throws {
        let corpus = try Self.loadCorpus()
        let refusedByH11 = try XCTUnwrap(corpus.cases.first { $0.h11.end == "error" && $0.h11.requests.isEmpty })
        var flipped = refusedByH11
        flipped.h11 = Verdict(requests: [], end: "eof", error: nil, status: nil)
        XCTAssertEqual(Self.compare([flipped]).disagreements.count, 1, "a refusal h11 does not make")

        let accepted = try XCTUnwrap(corpus.cases.first { $0.id == "seed-post-json" })
        var wrongBody = accepted
        wrongBody.h11.requests[0].body += "x"
        XCTAssertEqual(Self.compare([wrongBody]).disagreements.count, 1, "a body that differs")
        var refusedAccepted = accepted
        refusedAccepted.h11 = Verdict(requests: [], end: "error", error: "made up", status: 400)
        XCTAssertEqual(Self.compare([refusedAccepted]).disagreements.count, 1, "an acceptance h11 does not make")
    }
}

/// A sample of the refused cases, sent to a real server: the answer is the parser's error
/// status with its code in the body, then the connection closes.
final class RequestParserDifferentialServerTests: ServerTestCase {
    func testRefusedCasesAreAnsweredWithTheirStatusAndClosed() throws {
        try start()
        let corpus = try RequestParserDifferentialTests.loadCorpus()
        let refused = corpus.cases.filter { $0.h11.end == "error" && $0.h11.requests.isEmpty }
        var sample: [RequestParserDifferentialTests.Case] = []
        for (index, testCase) in refused.enumerated() where index % 8 == 0 || testCase.seed == "probe" {
            sample.append(testCase)
        }
        XCTAssertGreaterThan(sample.count, 40)
        print("sent \(sample.count) refused cases to a live server")
        var badRequests = 0
        for testCase in sample {
            let input = testCase.bytes
            guard let error = RequestParserDifferentialTests.parse(input).error else {
                XCTFail("\(testCase.id): our parser accepts it")
                continue
            }
            let client = try TestClient(port: port, timeout: 5)
            client.send(input)
            client.shutdownWrite()  // truncated cases are refused at end of stream
            let response = try client.readResponse()
            XCTAssertEqual(response.status, error.status.code, "\(testCase.id) \(escaped(input))")
            XCTAssertTrue(response.text.contains(error.code), "\(testCase.id): \(response.text)")
            XCTAssertEqual(response.headers["Connection"], "close", testCase.id)
            XCTAssertEqual(client.readUntilClosed(), [], "\(testCase.id): nothing after the error")
            XCTAssertTrue(client.peerClosed, "\(testCase.id): the server closes")
            if response.status == 400 { badRequests += 1 }
        }
        XCTAssertGreaterThan(badRequests, sample.count * 3 / 4)
        XCTAssertTrue(eventually { self.server.openConnectionCount == 0 })
        assertHealthy()
    }
}

// MARK: Helpers

/// The bytes a latin-1 string stands for (the corpus's encoding of raw bytes).
private func latin1Bytes(_ text: String) -> [UInt8] {
    text.unicodeScalars.map { UInt8(truncatingIfNeeded: $0.value) }
}

private func escaped(_ bytes: [UInt8]) -> String { RequestParserFuzzTests.escaped(bytes) }

private func containsSequence(_ bytes: [UInt8], _ needle: [UInt8]) -> Bool {
    guard bytes.count >= needle.count else { return false }
    return (0...(bytes.count - needle.count)).contains { bytes[$0..<($0 + needle.count)].elementsEqual(needle) }
}

/// The `name: value` lines of each blank-line-separated section (heads of pipelined requests,
/// and loosely whatever lies between), split on any line ending: enough to count fields.
private func rawFieldSections(_ bytes: [UInt8]) -> [[(name: String, value: String)]] {
    var sections: [[(name: String, value: String)]] = [[]]
    for line in bytes.split(separator: ASCII.lf, omittingEmptySubsequences: false) {
        if line.isEmpty || line.elementsEqual([ASCII.cr]) {
            sections.append([])
        } else if let colon = line.firstIndex(of: UInt8(ascii: ":")) {
            sections[sections.count - 1].append(
                (
                    String(decoding: line[..<colon], as: UTF8.self),
                    String(decoding: line[(colon + 1)...], as: UTF8.self)
                ))
        }
    }
    return sections
}
