import XCTest

@testable import CheckpointFormats

final class PickleMachineTests: XCTestCase {
    private func load(_ bytes: [UInt8], limits: PickleLimits = PickleLimits()) throws -> PickleValue {
        try bytes.withUnsafeBytes { try PickleMachine.load($0, path: "test.pkl", limits: limits).value }
    }

    /// pickle.dumps(OrderedDict([('a', 1), ('b', [1.5, 'x', b'yz', None, True, -300, 2**40])]), protocol=4):
    /// FRAME, SHORT_BINUNICODE, MEMOIZE, STACK_GLOBAL, SHORT_BINBYTES, LONG1.
    static let protocol4: [UInt8] = [
        128, 4, 149, 83, 0, 0, 0, 0, 0, 0, 0, 140, 11, 99, 111, 108, 108, 101, 99, 116, 105, 111, 110, 115, 148, 140,
        11, 79,
        114, 100, 101, 114, 101, 100, 68, 105, 99, 116, 148, 147, 148, 41, 82, 148, 40, 140, 1, 97, 148, 75, 1, 140, 1,
        98,
        148, 93, 148, 40, 71, 63, 248, 0, 0, 0, 0, 0, 0, 140, 1, 120, 148, 67, 2, 121, 122, 148, 78, 136, 74, 212, 254,
        255,
        255, 138, 6, 0, 0, 0, 0, 0, 1, 101, 117, 46,
    ]

    func testProtocol4IsRefusedAsTorchRefusesIt() {
        // torch.load(weights_only=True) knows none of FRAME, SHORT_BINUNICODE, MEMOIZE, STACK_GLOBAL.
        assertFormatError(try load(Self.protocol4)) {
            if case .unknownOpcode("test.pkl", 0x95, 2) = $0 { return true } else { return false }
        }
    }

    func testGlobalOfPosixSystemIsRefused() {
        let bytes: [UInt8] = [0x80, 2, 0x63] + Array("posix\nsystem\n".utf8) + [0x2E]
        assertFormatError(try load(bytes)) {
            if case .forbiddenGlobal("test.pkl", "posix.system") = $0 { return true } else { return false }
        }
    }

    func testStringsMustBeUTF8() {
        let bytes: [UInt8] = [0x80, 2, 0x58, 2, 0, 0, 0, 0xC3, 0x28, 0x2E]
        assertFormatError(try load(bytes)) {
            if case .malformedPickle(_, "a string is not UTF-8", 2) = $0 { return true } else { return false }
        }
    }

    func testStorageOfAnUnreadDTypeIsUnsupportedNotHostile() {
        let bytes: [UInt8] = [0x80, 2, 0x63] + Array("torch\nFloat8_e4m3fnStorage\n".utf8) + [0x2E]
        assertFormatError(try load(bytes)) {
            if case .unsupportedLayout(_, let reason) = $0 { return reason.contains("torch.Float8_e4m3fnStorage") }
            return false
        }
    }

    func testStackDepthLimit() {
        var limits = PickleLimits()
        limits.maxStackDepth = 100
        let bytes: [UInt8] = [0x80, 2] + [UInt8](repeating: 0x4E, count: 200) + [0x2E]
        assertFormatError(try load(bytes, limits: limits)) {
            if case .limitExceeded(_, "stack depth", 101) = $0 { return true } else { return false }
        }
        let marks: [UInt8] = [0x80, 2] + [UInt8](repeating: 0x28, count: 200) + [0x2E]
        assertFormatError(try load(marks, limits: limits)) {
            if case .limitExceeded(_, "stack depth", _) = $0 { return true } else { return false }
        }
    }

    func testMemoLimit() {
        var limits = PickleLimits()
        limits.maxMemoEntries = 10
        var bytes: [UInt8] = [0x80, 2, 0x4E]
        for index in 0..<20 { bytes += [0x72, UInt8(index), 0, 0, 0] }  // LONG_BINPUT index
        assertFormatError(try load(bytes + [0x2E], limits: limits)) {
            if case .limitExceeded(_, "memo size", 11) = $0 { return true } else { return false }
        }
    }

    func testObjectLimit() {
        var limits = PickleLimits()
        limits.maxObjects = 50
        var bytes: [UInt8] = [0x80, 2, 0x5D]  // EMPTY_LIST
        for _ in 0..<100 { bytes += [0x4E, 0x61] }  // NONE, APPEND
        assertFormatError(try load(bytes + [0x2E], limits: limits)) {
            if case .limitExceeded(_, "object count", 51) = $0 { return true } else { return false }
        }
    }

    func testHugeStringLengthIsRefusedBeforeReading() {
        // BINUNICODE claiming 4 GB: refused by the limit, not attempted.
        let bytes: [UInt8] = [0x80, 2, 0x58, 0xFF, 0xFF, 0xFF, 0xFF, 0x61, 0x2E]
        assertFormatError(try load(bytes)) {
            if case .limitExceeded(_, "string length", 0xFFFF_FFFF) = $0 { return true } else { return false }
        }
        let cut: [UInt8] = [0x80, 2, 0x58, 0x10, 0, 0, 0, 0x61]
        assertFormatError(try load(cut)) {
            if case .malformedPickle = $0 { return true } else { return false }
        }
    }

    func testMemoizedListThatGrowsKeepsItsDepthBounded() {
        // A list appended into itself through the memo: each APPEND deepens it until the limit.
        var bytes: [UInt8] = [0x80, 2, 0x5D, 0x71, 0]  // EMPTY_LIST, BINPUT 0
        for _ in 0..<100 { bytes += [0x68, 0, 0x61] }  // BINGET 0, APPEND
        assertFormatError(try load(bytes + [0x2E])) {
            if case .limitExceeded(_, "nesting depth", _) = $0 { return true } else { return false }
        }
    }

    func testNegativeAndLargeIntegers() throws {
        XCTAssertEqual(PickleMachine.integer([0xFF]).int, -1)
        XCTAssertEqual(PickleMachine.integer([0x00, 0x80]).int, -32768)
        XCTAssertEqual(PickleMachine.integer([]).int, 0)
        if case .bigInt(let bytes) = PickleMachine.integer(TorchCheckpoint.magicNumber) {
            XCTAssertEqual(bytes.count, 10)
        } else {
            XCTFail("the magic number does not fit in Int")
        }
    }
}
