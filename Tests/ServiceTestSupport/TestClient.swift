import Foundation
import XCTest

@testable import HTTPServer

#if canImport(Glibc)
    import Glibc
#endif

/// A response as the test client read it off the wire.
struct TestResponse {
    var status: Int
    var reason: String
    var headers: HTTPHeaders
    var body: [UInt8]
    /// The chunks, when the body was chunked.
    var chunks: [[UInt8]]?
    var text: String { String(decoding: body, as: UTF8.self) }
}

enum TestClientError: Error, CustomStringConvertible {
    case connectFailed(Int32)
    case closedBeforeResponse(received: String)
    case malformed(String)
    case timedOut

    var description: String {
        switch self {
        case .connectFailed(let code): return "connect failed: errno \(code)"
        case .closedBeforeResponse(let received): return "connection closed; received \(received.debugDescription)"
        case .malformed(let what): return "malformed response: \(what)"
        case .timedOut: return "timed out"
        }
    }
}

/// A deliberately raw HTTP client over a blocking socket: it sends exactly the
/// bytes a test gives it and parses responses itself (including chunked coding),
/// so tests see what the server really put on the wire.
final class TestClient {
    let fd: Int32
    private var buffer: [UInt8] = []
    private(set) var peerClosed = false

    /// Connects to 127.0.0.1:`port`; reads time out after `timeout` (generous: the machine is loaded).
    init(port: Int, timeout: TimeInterval = 10) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port)).bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard result == 0 else {
            let code = errno
            Glibc.close(fd)
            throw TestClientError.connectFailed(code)
        }
        setReadTimeout(timeout)
    }

    deinit { Glibc.close(fd) }

    func setReadTimeout(_ seconds: TimeInterval) {
        var value = timeval(tv_sec: Int(seconds), tv_usec: Int((seconds - Double(Int(seconds))) * 1e6))
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &value, socklen_t(MemoryLayout<timeval>.size))
    }

    @discardableResult
    func send(_ text: String) -> Bool { send(Array(text.utf8)) }

    @discardableResult
    func send(_ bytes: [UInt8]) -> Bool {
        var offset = 0
        while offset < bytes.count {
            let sent = bytes[offset...].withUnsafeBytes {
                Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL))
            }
            if sent <= 0 { return false }
            offset += sent
        }
        return true
    }

    /// Shuts down the writing side (the server sees end of stream).
    func shutdownWrite() { Glibc.shutdown(fd, Int32(SHUT_WR)) }

    /// Closes with a reset instead of a FIN (SO_LINGER 0), like a crashed client.
    func reset() {
        var linger = Glibc.linger(l_onoff: 1, l_linger: 0)
        setsockopt(fd, SOL_SOCKET, SO_LINGER, &linger, socklen_t(MemoryLayout<Glibc.linger>.size))
        Glibc.shutdown(fd, Int32(SHUT_RDWR))
    }

    /// Reads more bytes into the buffer; false at end of stream, error or timeout.
    @discardableResult
    private func fill() -> Bool {
        var scratch = [UInt8](repeating: 0, count: 65536)
        let count = scratch.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        if count > 0 {
            buffer += scratch[0..<count]
            return true
        }
        if count == 0 || errno == ECONNRESET { peerClosed = true }
        return false
    }

    private func takeLine() throws -> String {
        while true {
            if let index = buffer.firstIndex(of: UInt8(ascii: "\n")), index > 0, buffer[index - 1] == UInt8(ascii: "\r")
            {
                let line = String(decoding: buffer[..<(index - 1)], as: UTF8.self)
                buffer.removeSubrange(...index)
                return line
            }
            guard fill() else {
                if peerClosed {
                    throw TestClientError.closedBeforeResponse(received: String(decoding: buffer, as: UTF8.self))
                }
                throw TestClientError.timedOut
            }
        }
    }

    private func take(_ count: Int) throws -> [UInt8] {
        while buffer.count < count {
            guard fill() else { throw peerClosed ? TestClientError.closedBeforeResponse(received: "") : .timedOut }
        }
        let bytes = Array(buffer[..<count])
        buffer.removeSubrange(..<count)
        return bytes
    }

    /// Status line and headers of the next response (1xx responses included).
    func readHead() throws -> (status: Int, reason: String, headers: HTTPHeaders) {
        let statusLine = try takeLine()
        let parts = statusLine.split(separator: " ", maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count >= 2, parts[0] == "HTTP/1.1", let status = Int(parts[1]) else {
            throw TestClientError.malformed("status line \(statusLine.debugDescription)")
        }
        var headers = HTTPHeaders()
        while true {
            let line = try takeLine()
            if line.isEmpty { break }
            guard let colon = line.firstIndex(of: ":") else { throw TestClientError.malformed("header \(line)") }
            headers.add(String(line[..<colon]), line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces))
        }
        return (status, parts.count > 2 ? String(parts[2]) : "", headers)
    }

    /// The next chunk of a chunked body; nil after the last chunk (trailers consumed).
    func readChunk() throws -> [UInt8]? {
        let sizeLine = try takeLine()
        guard let size = Int(sizeLine.split(separator: ";")[0], radix: 16) else {
            throw TestClientError.malformed("chunk size \(sizeLine.debugDescription)")
        }
        if size == 0 {
            while try !takeLine().isEmpty {}
            return nil
        }
        let data = try take(size)
        guard try takeLine().isEmpty else { throw TestClientError.malformed("no CRLF after chunk") }
        return data
    }

    /// The next full response. 1xx responses are skipped unless `keepInterim`.
    func readResponse(forHead: Bool = false, keepInterim: Bool = false) throws -> TestResponse {
        var head = try readHead()
        while !keepInterim && (100..<200).contains(head.status) { head = try readHead() }
        var response = TestResponse(status: head.status, reason: head.reason, headers: head.headers, body: [])
        if forHead || [204, 304].contains(head.status) || (100..<200).contains(head.status) { return response }
        if head.headers["Transfer-Encoding"]?.lowercased() == "chunked" {
            var chunks: [[UInt8]] = []
            while let chunk = try readChunk() { chunks.append(chunk) }
            response.chunks = chunks
            response.body = chunks.flatMap { $0 }
        } else if let length = head.headers["Content-Length"].flatMap(Int.init) {
            response.body = try take(length)
        } else {
            response.body = readUntilClosed()
        }
        return response
    }

    /// Everything until the server closes (or the read timeout).
    func readUntilClosed() -> [UInt8] {
        while fill() {}
        defer { buffer.removeAll() }
        return buffer
    }

    /// True when the server closes the connection (FIN or reset) within `timeout`,
    /// with nothing more to read.
    func waitForClose(timeout: TimeInterval) -> Bool {
        setReadTimeout(timeout)
        let start = Date()
        while Date().timeIntervalSince(start) < timeout + 1 {
            if fill() { continue }
            return peerClosed
        }
        return false
    }

    /// One request with a Host header, returning the response.
    static func request(port: Int, _ target: String, headers: [String: String] = [:]) throws -> TestResponse {
        try request(port: port, "GET", target, headers: headers)
    }

    static func request(
        port: Int, _ method: String, _ target: String, headers: [String: String] = [:],
        body: String? = nil
    ) throws -> TestResponse {
        let client = try TestClient(port: port)
        var text = "\(method) \(target) HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
        for (name, value) in headers { text += "\(name): \(value)\r\n" }
        if let body { text += "Content-Length: \(body.utf8.count)\r\n" }
        text += "\r\n" + (body ?? "")
        client.send(text)
        return try client.readResponse(forHead: method == "HEAD")
    }
}
