import Foundation
import XCTest

@testable import JobStore
@testable import ServiceTestSupport

/// The RESP2 client against a real redis-server: reply types, pipelining, errors, timeouts,
/// and reconnecting after Redis restarts.
final class RedisClientTests: XCTestCase {
    func testEveryReplyTypeRoundTrips() throws {
        let redis = try RedisServerProcess(appendOnly: false)
        let client = RedisClient(url: redis.url)
        defer { client.close() }
        let binary = Data([0, 13, 10, 255, 36, 42])  // NUL, CRLF, and RESP markers: bulk strings are binary-safe
        XCTAssertEqual(try client.send([Data("SET".utf8), Data("k".utf8), binary]), .simple("OK"))
        XCTAssertEqual(try client.send("GET", "k"), .bulk(binary))
        XCTAssertEqual(try client.send("GET", "missing"), .null)
        XCTAssertEqual(try client.send("INCRBY", "n", "-7"), .integer(-7))
        try client.send("RPUSH", "list", "a", "", "c")
        XCTAssertEqual(
            try client.send("LRANGE", "list", "0", "-1"),
            .array([.bulk(Data("a".utf8)), .bulk(Data()), .bulk(Data("c".utf8))]))
        XCTAssertEqual(try client.send("LRANGE", "nothing", "0", "-1"), .array([]))
        XCTAssertThrowsError(try client.send("INCR", "list")) { error in
            guard case RedisError.server(let message) = error else { return XCTFail("\(error)") }
            XCTAssertTrue(message.hasPrefix("WRONGTYPE"), message)
            XCTAssertEqual((error as? RedisError)?.serverErrorCode, "WRONGTYPE")
        }
        XCTAssertThrowsError(try client.send("NOSUCHCOMMAND")) { error in
            XCTAssertEqual((error as? RedisError)?.serverErrorCode, "ERR")
        }
        // The connection is still good after error replies.
        XCTAssertEqual(try client.send("PING"), .simple("PONG"))
    }

    func testPipelineSendsEverythingAtOnceAndKeepsOrderAndErrors() throws {
        let redis = try RedisServerProcess(appendOnly: false)
        let client = RedisClient(url: redis.url)
        defer { client.close() }
        let commands = (0..<2000).map { _ in ["INCR", "counter"] }
        let replies = try client.pipeline(commands)
        XCTAssertEqual(replies, (1...2000).map { .integer(Int64($0)) })
        // A big reply spread over many reads.
        let big = Data(repeating: 120, count: 3 << 20)
        try client.send([Data("SET".utf8), Data("big".utf8), big])
        let mixed = try client.pipeline([["SET", "s", "x"], ["INCR", "s"], ["GET", "big"], ["GET", "s"]])
        XCTAssertEqual(mixed.count, 4)
        XCTAssertEqual(mixed[0], .simple("OK"))
        guard case .error(let message) = mixed[1] else { return XCTFail("\(mixed[1])") }
        XCTAssertTrue(message.contains("not an integer"), message)
        XCTAssertEqual(mixed[2], .bulk(big))
        XCTAssertEqual(mixed[3], .bulk(Data("x".utf8)))
    }

    func testReconnectsAfterRedisRestartsAndFailsTypedWhileItIsDown() throws {
        let redis = try RedisServerProcess(appendOnly: true)
        let client = RedisClient(url: redis.url, connectTimeout: 1, commandTimeout: 2)
        defer { client.close() }
        try client.send("SET", "survives", "yes")
        redis.stop()
        XCTAssertThrowsError(try client.send("GET", "survives")) { error in
            XCTAssertEqual(error as? RedisError, .connectionRefused(host: "127.0.0.1", port: redis.port), "\(error)")
            XCTAssertTrue((error as? RedisError)?.isConnectionProblem == true)
        }
        try redis.start()
        // The next command reconnects by itself; AOF kept the data.
        XCTAssertEqual(try client.send("GET", "survives"), .bulk(Data("yes".utf8)))
        // A pooled idle connection that Redis closed in a restart is not used again.
        try redis.restart()
        XCTAssertEqual(try client.send("GET", "survives"), .bulk(Data("yes".utf8)))
    }

    func testCommandInFlightWhenTheConnectionDropsFailsWithConnectionLost() throws {
        let redis = try RedisServerProcess(appendOnly: false)
        let client = RedisClient(url: redis.url)
        defer { client.close() }
        let admin = RedisClient(url: redis.url)
        defer { admin.close() }
        let result = LockedBox<Result<RedisValue, Error>?>(nil)
        let thread = Thread {
            result.set(Result { try client.send("BLPOP", "never", "10", extraTimeout: 10) })
        }
        thread.start()
        // Wait until the BLPOP is blocked in Redis, then kill that client's connection.
        pollUntil(10, "the BLPOP to block") {
            (try? admin.send("INFO", "clients").string?.contains("blocked_clients:1")) == true
        }
        try admin.send("CLIENT", "KILL", "TYPE", "normal", "SKIPME", "yes")
        pollUntil(10, "the BLPOP to fail") { result.value != nil }
        guard case .failure(let error)? = result.value, case RedisError.connectionLost = error else {
            return XCTFail("expected connectionLost, got \(String(describing: result.value))")
        }
        XCTAssertEqual(try client.send("PING"), .simple("PONG"), "the next command reconnects")
    }

    func testTimeoutsAreTyped() throws {
        let redis = try RedisServerProcess(appendOnly: false)
        let client = RedisClient(url: redis.url, connectTimeout: 1, commandTimeout: 0.3)
        defer { client.close() }
        let start = Date()
        XCTAssertThrowsError(try client.send("BLPOP", "never", "5")) { error in
            guard case RedisError.timedOut(_, _, let operation, _) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(operation, "BLPOP")
        }
        XCTAssertLessThan(Date().timeIntervalSince(start), 3)
        XCTAssertEqual(try client.send("PING"), .simple("PONG"))
    }

    func testPasswordAndDatabaseFromTheURL() throws {
        let redis = try RedisServerProcess(appendOnly: false, extraArguments: ["--requirepass", "s3cret"])
        let url = try RedisURL(parsing: "redis://:s3cret@127.0.0.1:\(redis.port)/3")
        XCTAssertEqual(url.database, 3)
        XCTAssertEqual(url.description, "redis://:***@127.0.0.1:\(redis.port)/3", "the password is never printed")
        let client = RedisClient(url: url)
        defer { client.close() }
        try client.send("SET", "where", "db3")
        let other = RedisClient(url: RedisURL(host: "127.0.0.1", port: redis.port, database: 0, password: "s3cret"))
        defer { other.close() }
        XCTAssertEqual(try other.send("GET", "where"), .null, "database 3 is not database 0")
        let anonymous = RedisClient(url: redis.url)
        defer { anonymous.close() }
        XCTAssertThrowsError(try anonymous.send("GET", "where")) { error in
            XCTAssertEqual((error as? RedisError)?.serverErrorCode, "NOAUTH", "\(error)")
        }
        let wrong = RedisClient(url: try RedisURL(parsing: "redis://:nope@127.0.0.1:\(redis.port)"))
        XCTAssertThrowsError(try wrong.send("PING")) { error in
            XCTAssertTrue(["WRONGPASS", "ERR"].contains((error as? RedisError)?.serverErrorCode ?? ""), "\(error)")
        }
    }
}

/// The parser and URL rules, without a server.
final class RedisReplyParserTests: XCTestCase {
    private func parse(_ text: String) throws -> RedisValue? {
        try RedisReplyParser.parse(Array(text.utf8), from: 0)?.0
    }

    func testIncompleteRepliesWaitForMoreBytes() throws {
        for partial in ["", "+OK", "+OK\r", "$5\r\nhel", "$5\r\nhello\r", "*2\r\n:1\r\n", "*2\r\n:1\r\n$1\r\n"] {
            XCTAssertNil(try parse(partial), partial.debugDescription)
        }
        XCTAssertEqual(try parse("*3\r\n:1\r\n$-1\r\n*-1\r\n"), .array([.integer(1), .null, .null]))
        XCTAssertEqual(try parse("-ERR bad\r\n"), .error("ERR bad"))
    }

    func testMalformedAndHostileRepliesAreProtocolViolations() {
        let hostile = [
            "!x\r\n", ":12a\r\n", "$-2\r\n", "$999999999999\r\n", "*-5\r\n", "*99999999999\r\n",
            "$3\r\nabcXY", "+a\rb\r\n", String(repeating: "*1\r\n", count: 40) + ":1\r\n",
            "+" + String(repeating: "a", count: 70_000),
        ]
        for text in hostile {
            XCTAssertThrowsError(try parse(text), text.prefix(30).debugDescription) { error in
                guard case RedisError.protocolViolation = error else { return XCTFail("\(error)") }
            }
        }
    }

    func testURLs() throws {
        XCTAssertEqual(try RedisURL(parsing: "redis://localhost"), RedisURL(host: "localhost", port: 6379, database: 0))
        XCTAssertEqual(
            try RedisURL(parsing: "redis://10.0.0.5:6380/2"), RedisURL(host: "10.0.0.5", port: 6380, database: 2))
        XCTAssertEqual(
            try RedisURL(parsing: "redis://user:p%40ss@h:1/0"),
            RedisURL(host: "h", port: 1, database: 0, username: "user", password: "p@ss"))
        for bad in ["http://h:1/0", "redis://", "redis://h:1/x", "redis://h:0/0", "h:6379"] {
            XCTAssertThrowsError(try RedisURL(parsing: bad), bad) { error in
                guard case RedisError.invalidURL = error else { return XCTFail("\(error)") }
            }
        }
    }
}
