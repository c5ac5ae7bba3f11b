import Foundation
import Kernels
import XCTest

@testable import Tensor

/// Scratch buffers are 64-byte aligned, grow when asked for more, are kept between calls,
/// and belong to one thread each.
final class ThreadScratchTests: XCTestCase {
    func testBuffersAreAlignedGrowAndAreKept() {
        let small = ThreadScratch.withBytes(.partialProducts, byteCount: 100) { pointer -> Int in
            XCTAssertEqual(Int(bitPattern: pointer) % 64, 0)
            pointer.storeBytes(of: 42, as: Int.self)
            return Int(bitPattern: pointer)
        }
        let again = ThreadScratch.withBytes(.partialProducts, byteCount: 80) { pointer -> Int in
            XCTAssertEqual(pointer.load(as: Int.self), 42, "the same buffer, as the last use left it")
            return Int(bitPattern: pointer)
        }
        XCTAssertEqual(small, again)
        ThreadScratch.withFloats(.partialProducts, count: 1 << 20) { floats in
            XCTAssertEqual(Int(bitPattern: floats) % 64, 0)
            floats[(1 << 20) - 1] = 1  // the whole size is there
        }
        // Different slots at once are different memory.
        ThreadScratch.withBytes(.quantizedActivations, byteCount: 64) { a in
            ThreadScratch.withFloats(.activationScales, count: 16) { b in
                XCTAssertNotEqual(a, UnsafeMutableRawPointer(b))
            }
        }
    }

    func testEachThreadHasItsOwnBuffers() {
        final class Addresses: @unchecked Sendable {
            let lock = NSLock()
            var values: Set<Int> = []
            func add(_ value: Int) {
                lock.lock()
                values.insert(value)
                lock.unlock()
            }
        }
        let addresses = Addresses()
        let group = DispatchGroup()
        let ready = DispatchSemaphore(value: 0)
        let finish = DispatchSemaphore(value: 0)
        for _ in 0..<4 {
            // Four threads alive at once, each holding its slot until all have taken theirs.
            group.enter()
            Thread.detachNewThread {
                ThreadScratch.withBytes(.partialProducts, byteCount: 256) { pointer in
                    addresses.add(Int(bitPattern: pointer))
                    ready.signal()
                    finish.wait()
                }
                group.leave()
            }
        }
        for _ in 0..<4 { ready.wait() }
        for _ in 0..<4 { finish.signal() }
        group.wait()
        XCTAssertEqual(addresses.values.count, 4)
    }
}
