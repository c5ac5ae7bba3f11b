import XCTest

@testable import octavo_infer

/// The download checker's SHA-256, fed in pieces of every size, against the reference.
final class SHA256Tests: XCTestCase {
    func testIncrementalUpdatesMatchTheReference() {
        var state: UInt64 = 1
        func next() -> Int {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int(state >> 33)
        }
        for length in [0, 1, 55, 56, 63, 64, 65, 127, 128, 1000, 4099] {
            let message = (0..<length).map { _ in UInt8(next() % 256) }
            var reference = SHA256Reference()
            reference.update(message)
            var hasher = SHA256()
            var offset = 0
            while offset < message.count {
                let piece = min(message.count - offset, 1 + next() % 130)
                hasher.update(Array(message[offset..<(offset + piece)]))
                offset += piece
            }
            XCTAssertEqual(hasher.finalizeHex(), reference.hex(), "length \(length)")
        }
    }
}
