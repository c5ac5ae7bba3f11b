import XCTest
import Foundation
import Synchronization
@testable import Tensor

/// The pool every kernel runs on: each thread runs each job once, ranges cover every index
/// once, workers that went to sleep wake for the next job, and callers on several threads
/// take turns.
final class ComputePoolTests: XCTestCase {
    /// Runs `body` on another thread and fails (instead of hanging the suite) if it has not
    /// returned within `seconds`.
    func finishes(within seconds: Double, _ body: @escaping @Sendable () -> Void, file: StaticString = #filePath, line: UInt = #line) {
        let done = DispatchSemaphore(value: 0)
        Thread.detachNewThread {
            body()
            done.signal()
        }
        XCTAssertEqual(done.wait(timeout: .now() + seconds), .success, "the pool did not finish the job", file: file, line: line)
    }

    func testRunCallsEveryThreadIndexOnceWithTheCallerAsZero() {
        for threads in [1, 2, 3, 5] {
            let pool = ComputePool(threads: threads)
            defer { pool.stop() }
            let calls = UnsafeMutablePointer<Int>.allocate(capacity: threads)
            defer { calls.deallocate() }
            let onCaller = UnsafeMutablePointer<Bool>.allocate(capacity: threads)
            defer { onCaller.deallocate() }
            for _ in 0..<50 {
                calls.initialize(repeating: 0, count: threads)
                let caller = pthread_self()
                pool.run { t in
                    calls[t] += 1
                    onCaller[t] = pthread_equal(pthread_self(), caller) != 0
                }
                XCTAssertEqual(Array(UnsafeBufferPointer(start: calls, count: threads)), Array(repeating: 1, count: threads))
                XCTAssertEqual(Array(UnsafeBufferPointer(start: onCaller, count: threads)), [true] + Array(repeating: false, count: threads - 1))
            }
        }
    }

    func testParallelForCoversEveryIndexOnceInWholeGranules() {
        let pool = ComputePool(threads: 3)
        defer { pool.stop() }
        for (count, granularity, minimum) in [(0, 1, 1), (1, 1, 1), (2, 1, 1), (7, 1, 1), (100, 8, 1), (101, 8, 1), (1000, 16, 256), (50257, 8, 256), (5, 8, 1)] {
            let hits = UnsafeMutablePointer<Int>.allocate(capacity: max(count, 1))
            defer { hits.deallocate() }
            hits.initialize(repeating: 0, count: max(count, 1))
            let starts = Mutex<[Int]>([])
            pool.parallelFor(count, granularity: granularity, minimumPerThread: minimum) { range in
                for i in range { hits[i] += 1 }
                starts.withLock { $0.append(range.lowerBound) }
            }
            XCTAssertEqual(Array(UnsafeBufferPointer(start: hits, count: count)), Array(repeating: 1, count: count), "count \(count)")
            for start in starts.withLock({ $0 }) {
                XCTAssertEqual(start % granularity, 0, "a range starts inside a granule (count \(count))")
            }
        }
    }

    /// A worker spins for a while after each job and then sleeps; the next job must wake it.
    func testWorkersThatFellAsleepRunTheNextJob() {
        let pool = ComputePool(threads: 3)
        defer { pool.stop() }
        let ran = Atomic<Int>(0)
        finishes(within: 20) {
            for _ in 0..<4 {
                pool.run { _ in ran.add(1, ordering: .relaxed) }
                Thread.sleep(forTimeInterval: 0.02)  // far longer than the spin: the workers sleep
            }
        }
        XCTAssertEqual(ran.load(ordering: .relaxed), 12)
    }

    func testCallersOnSeveralThreadsTakeTurns() {
        let pool = ComputePool(threads: 2)
        defer { pool.stop() }
        let callers = 4, jobs = 200, count = 1000
        nonisolated(unsafe) let sums = UnsafeMutablePointer<Int>.allocate(capacity: callers * jobs)
        defer { sums.deallocate() }
        sums.initialize(repeating: 0, count: callers * jobs)
        finishes(within: 60) {
            DispatchQueue.concurrentPerform(iterations: callers) { c in
                for j in 0..<jobs {
                    let partial = UnsafeMutablePointer<Int>.allocate(capacity: 2)
                    partial.initialize(repeating: 0, count: 2)
                    // Each thread adds into its own slot; a second caller running the same job
                    // indices at once would double-count a slot.
                    pool.run { t in
                        for i in 0..<count where i % 2 == t { partial[t] += i }
                    }
                    sums[c * jobs + j] = partial[0] + partial[1]
                    partial.deallocate()
                }
            }
        }
        let wrong = UnsafeBufferPointer(start: sums, count: callers * jobs).filter { $0 != count * (count - 1) / 2 }.count
        XCTAssertEqual(wrong, 0, "jobs whose threads did not all run them exactly once")
    }
}
