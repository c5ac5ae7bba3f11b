import Foundation
import Kernels
import Synchronization
import XCTest

@testable import Tensor

/// The pool every kernel runs on: each thread runs each job once, ranges cover every index
/// once, and workers that went to sleep wake for the next job. (Callers on several threads
/// taking turns: MatVecTests.testPoolRunsEveryIndexOnceAndSerializesCallers.)
final class ComputePoolTests: XCTestCase {
    /// Runs `body` on another thread and fails (instead of hanging the suite) if it has not
    /// returned within `seconds`.
    func finishes(
        within seconds: Double, _ body: @escaping @Sendable () -> Void, file: StaticString = #filePath,
        line: UInt = #line
    ) {
        let done = DispatchSemaphore(value: 0)
        Thread.detachNewThread {
            body()
            done.signal()
        }
        XCTAssertEqual(
            done.wait(timeout: .now() + seconds), .success, "the pool did not finish the job", file: file, line: line)
    }

    // Each test drives its pool from `finishes`, so that a pool that stops waking its workers
    // fails the test instead of hanging the suite; what the jobs saw is checked afterwards.

    func testRunCallsEveryThreadIndexOnceWithTheCallerAsZero() {
        let wrong = Mutex<[String]>([])
        finishes(within: 20) {
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
                    let counts = Array(UnsafeBufferPointer(start: calls, count: threads))
                    let placement = Array(UnsafeBufferPointer(start: onCaller, count: threads))
                    if counts != Array(repeating: 1, count: threads)
                        || placement != [true] + Array(repeating: false, count: threads - 1)
                    {
                        wrong.withLock { $0.append("\(threads) threads: calls \(counts), on the caller \(placement)") }
                    }
                }
            }
        }
        XCTAssertEqual(wrong.withLock { $0 }, [])
    }

    func testParallelForCoversEveryIndexOnceInWholeGranules() {
        let wrong = Mutex<[String]>([])
        finishes(within: 20) {
            let pool = ComputePool(threads: 3)
            defer { pool.stop() }
            for (count, granularity, minimum) in [
                (0, 1, 1), (1, 1, 1), (2, 1, 1), (7, 1, 1), (100, 8, 1), (101, 8, 1), (1000, 16, 256), (50257, 8, 256),
                (5, 8, 1),
            ] {
                let hits = UnsafeMutablePointer<Int>.allocate(capacity: max(count, 1))
                defer { hits.deallocate() }
                hits.initialize(repeating: 0, count: max(count, 1))
                let starts = Mutex<[Int]>([])
                pool.parallelFor(count, granularity: granularity, minimumPerThread: minimum) { range in
                    for i in range { hits[i] += 1 }
                    starts.withLock { $0.append(range.lowerBound) }
                }
                if UnsafeBufferPointer(start: hits, count: count).contains(where: { $0 != 1 }) {
                    wrong.withLock { $0.append("count \(count): an index not run exactly once") }
                }
                if starts.withLock({ $0 }).contains(where: { $0 % granularity != 0 }) {
                    wrong.withLock { $0.append("count \(count): a range starts inside a granule") }
                }
            }
        }
        XCTAssertEqual(wrong.withLock { $0 }, [])
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
}
