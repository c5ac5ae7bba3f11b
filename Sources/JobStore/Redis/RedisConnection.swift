import Foundation
import HTTPServer

#if canImport(Glibc)
    import Glibc
#endif

/// One TCP connection to Redis, used by one thread at a time (`RedisClient` hands them out).
///
/// Any I/O failure or timeout leaves the connection `isBroken`: a reply may be half read, so
/// the client drops it and the next command opens a fresh one.
final class RedisConnection {
    let url: RedisURL
    private var fd: Int32
    private var buffer: [UInt8] = []
    private var position = 0
    private(set) var isBroken = false

    /// Connects (within `connectTimeout`), then authenticates and selects the database.
    init(url: RedisURL, connectTimeout: TimeInterval, commandTimeout: TimeInterval) throws {
        self.url = url
        fd = try Self.connect(host: url.host, port: url.port, timeout: connectTimeout)
        var setup: [[Data]] = []
        if let password = url.password {
            setup.append(
                ["AUTH"].map { Data($0.utf8) } + (url.username.map { [Data($0.utf8)] } ?? []) + [Data(password.utf8)])
        }
        if url.database != 0 { setup.append([Data("SELECT".utf8), Data(String(url.database).utf8)]) }
        if !setup.isEmpty {
            do {
                for reply in try execute(setup, timeout: commandTimeout) { _ = try reply.throwingError() }
            } catch {
                close()
                throw error
            }
        }
    }

    deinit { close() }

    /// True when Redis closed this idle connection (it restarted, or timed the client out).
    var peerHasGone: Bool { fd < 0 || SocketIO.peerHasGone(fd) }

    func close() {
        if fd >= 0 {
            Glibc.close(fd)
            fd = -1
        }
        isBroken = true
    }

    /// Sends every command in one write (pipelining) and reads their replies in order. Error
    /// replies come back as `.error` values; failures to talk to Redis throw.
    func execute(_ commands: [[Data]], timeout: TimeInterval) throws -> [RedisValue] {
        guard !isBroken, fd >= 0 else {
            throw RedisError.connectionLost(host: url.host, port: url.port, reason: "connection closed")
        }
        var request: [UInt8] = []
        for command in commands { RedisCommandEncoder.encode(command, into: &request) }
        let deadline = SocketIO.deadline(after: timeout)
        guard SocketIO.writeAll(fd, request, deadline: deadline) else {
            let reason = errno == 0 ? "write failed" : String(cString: strerror(errno))
            close()
            if SocketIO.now() >= deadline {
                throw RedisError.timedOut(
                    host: url.host, port: url.port, operation: Self.name(commands), seconds: timeout)
            }
            throw RedisError.connectionLost(host: url.host, port: url.port, reason: reason)
        }
        var replies: [RedisValue] = []
        replies.reserveCapacity(commands.count)
        while replies.count < commands.count {
            do {
                if let (value, next) = try RedisReplyParser.parse(buffer, from: position) {
                    replies.append(value)
                    position = next
                    continue
                }
            } catch {
                close()
                throw error
            }
            try fill(deadline: deadline, timeout: timeout, commands: commands)
        }
        if position == buffer.count {
            buffer.removeAll(keepingCapacity: buffer.capacity <= 1 << 20)
            position = 0
        }
        return replies
    }

    private func fill(deadline: UInt64, timeout: TimeInterval, commands: [[Data]]) throws {
        if position > 0 {
            buffer.removeFirst(position)
            position = 0
        }
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        let result = chunk.withUnsafeMutableBytes { SocketIO.read(fd, into: $0, deadline: deadline) }
        switch result {
        case .data(let count):
            buffer.append(contentsOf: chunk[0..<count])
        case .endOfStream:
            close()
            throw RedisError.connectionLost(host: url.host, port: url.port, reason: "Redis closed the connection")
        case .timedOut, .woken:
            close()
            throw RedisError.timedOut(host: url.host, port: url.port, operation: Self.name(commands), seconds: timeout)
        case .failed(let code):
            close()
            throw RedisError.connectionLost(host: url.host, port: url.port, reason: String(cString: strerror(code)))
        }
    }

    private static func name(_ commands: [[Data]]) -> String {
        let first = commands.first?.first.map { String(decoding: $0, as: UTF8.self) } ?? "?"
        return commands.count == 1 ? first : "\(first) (+\(commands.count - 1) pipelined)"
    }

    /// A connected TCP socket, trying each address the host resolves to.
    private static func connect(host: String, port: Int, timeout: TimeInterval) throws -> Int32 {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(host, String(port), &hints, &list)
        guard status == 0, let first = list else {
            throw RedisError.connectionFailed(
                host: host, port: port,
                reason: "cannot resolve host "
                    + "(\(String(cString: gai_strerror(status))))")
        }
        defer { freeaddrinfo(list) }
        var lastError = RedisError.connectionFailed(host: host, port: port, reason: "no address")
        var cursor: UnsafeMutablePointer<addrinfo>? = first
        let deadline = SocketIO.deadline(after: timeout)
        while let info = cursor {
            cursor = info.pointee.ai_next
            let fd = socket(
                info.pointee.ai_family,
                info.pointee.ai_socktype | Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue),
                info.pointee.ai_protocol)
            guard fd >= 0 else { continue }
            var code: Int32 = 0
            if Glibc.connect(fd, info.pointee.ai_addr, info.pointee.ai_addrlen) != 0 {
                code = errno
                if code == EINPROGRESS {
                    var pfd = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
                    var ready: Int32
                    repeat {
                        ready = poll(&pfd, 1, SocketIO.pollTimeout(until: deadline))
                    } while ready < 0 && errno == EINTR
                    if ready == 0 {
                        Glibc.close(fd)
                        throw RedisError.timedOut(host: host, port: port, operation: "connect", seconds: timeout)
                    }
                    var length = socklen_t(MemoryLayout<Int32>.size)
                    code = 0
                    getsockopt(fd, SOL_SOCKET, SO_ERROR, &code, &length)
                }
            }
            if code == 0 {
                // Back to blocking: SocketIO polls with deadlines and sends with MSG_DONTWAIT.
                _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK)
                var one: Int32 = 1
                setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
                return fd
            }
            Glibc.close(fd)
            lastError =
                code == ECONNREFUSED
                ? .connectionRefused(host: host, port: port)
                : .connectionFailed(host: host, port: port, reason: String(cString: strerror(code)))
        }
        throw lastError
    }
}
