import Foundation
import XCTest

@testable import JobStore
@testable import ServiceTestSupport

final class JobEventsTests: JobStoreTestCase {
    func testSubscriberSeesTheWholeLifecycleInOrder() throws {
        let store = try openStore()
        let id = try store.submit(type: "story", params: .json("{}")).job.id
        let subscription = try store.subscribe(id)
        XCTAssertEqual(subscription.next(timeout: 1), .event(.queued))
        XCTAssertEqual(subscription.next(timeout: 0.01), .timedOut)

        let lease = try store.markRunning(id)
        XCTAssertEqual(subscription.next(timeout: 1), .event(.started(attempt: 1)))
        lease.progress.token("Once")
        XCTAssertEqual(subscription.next(timeout: 1), .event(.token("Once")))
        lease.progress.token(" upon")
        lease.progress.token(" a time")
        try store.complete(lease, result: .json(#"{"text":"Once upon a time"}"#))

        // Tokens the subscriber had not taken yet were merged; nothing follows the final event.
        XCTAssertEqual(subscription.next(timeout: 1), .event(.token(" upon a time")))
        XCTAssertEqual(subscription.next(timeout: 1), .event(.done(result: .json(#"{"text":"Once upon a time"}"#))))
        XCTAssertEqual(subscription.next(timeout: 1), .ended)
        XCTAssertEqual(store.events.subscriberCount, 0)
    }

    func testLateSubscriberToFinishedJobGetsFinalEventAtOnce() throws {
        let store = try openStore()
        let done = try store.submit(type: "a", params: .json("1")).job.id
        try store.complete(store.markRunning(done), result: .json(#""r""#))
        let failed = try store.submit(type: "a", params: .json("2")).job.id
        try store.fail(store.markRunning(failed), message: "out of memory")
        let cancelled = try store.submit(type: "a", params: .json("3")).job.id
        try store.cancel(cancelled)

        // Also from a fresh process (persisted state, no in-memory history).
        let reopened = try reopen(store)
        XCTAssertEqual(collectEvents(try reopened.subscribe(done), timeout: 1), [.done(result: .json(#""r""#))])
        XCTAssertEqual(collectEvents(try reopened.subscribe(failed), timeout: 1), [.failed(message: "out of memory")])
        XCTAssertEqual(collectEvents(try reopened.subscribe(cancelled), timeout: 1), [.cancelled])
        XCTAssertEqual(reopened.events.subscriberCount, 0)
    }

    func testLateSubscriberToRunningJobGetsTextSoFarThenLiveTokens() throws {
        let store = try openStore()
        let id = try store.submit(type: "story", params: .json("{}")).job.id
        let lease = try store.markRunning(id)
        lease.progress.token("Hello")
        lease.progress.token(" world")
        let subscription = try store.subscribe(id)
        XCTAssertEqual(subscription.next(timeout: 1), .event(.started(attempt: 1)))
        XCTAssertEqual(subscription.next(timeout: 1), .event(.token("Hello world")))
        lease.progress.token("!")
        XCTAssertEqual(subscription.next(timeout: 1), .event(.token("!")))
        try store.cancel(id)
        try store.markCancelled(lease)
        XCTAssertEqual(subscription.next(timeout: 1), .event(.cancelled))
        XCTAssertEqual(subscription.next(timeout: 1), .ended)
    }

    func testMultipleSubscribersEachGetEveryEvent() throws {
        let store = try openStore()
        let id = try store.submit(type: "story", params: .json("{}")).job.id
        let subscriptions = try (0..<5).map { _ in try store.subscribe(id) }
        XCTAssertEqual(store.events.subscriberCount, 5)
        let lease = try store.markRunning(id)
        for word in ["a", "b", "c"] { lease.progress.token(word) }
        try store.complete(lease, result: .json("1"))
        for subscription in subscriptions {
            let events = collectEvents(subscription, timeout: 1)
            XCTAssertEqual(events.first, .queued)
            XCTAssertEqual(events.dropFirst().first, .started(attempt: 1))
            XCTAssertEqual(renderedText(events), "abc")
            XCTAssertEqual(events.last, .done(result: .json("1")))
        }
        XCTAssertEqual(store.events.subscriberCount, 0)
    }

    func testRequeueAndRestartAreVisibleToSubscribers() throws {
        let store = try openStore()
        let id = try store.submit(type: "story", params: .json("{}")).job.id
        let subscription = try store.subscribe(id)
        let first = try store.markRunning(id)
        first.progress.token("draft")
        try store.requeue(first)
        let second = try store.markRunning(id)
        second.progress.token("final")
        try store.complete(second, result: .json("{}"))
        let events = collectEvents(subscription, timeout: 1)
        XCTAssertEqual(
            events,
            [
                .queued, .started(attempt: 1), .token("draft"), .queued, .started(attempt: 1), .token("final"),
                .done(result: .json("{}")),
            ])
        XCTAssertEqual(renderedText(events), "final")
    }

    func testCancellingOrDroppingSubscriptionsDoesNotLeak() throws {
        let store = try openStore()
        let id = try store.submit(type: "story", params: .json("{}")).job.id
        var kept: [JobSubscription] = []
        for index in 0..<200 {
            let subscription = try store.subscribe(id)
            if index % 2 == 0 { subscription.cancel() } else { kept.append(subscription) }
        }
        XCTAssertEqual(store.events.subscriberCount, 100)
        kept[0].cancel()
        kept[0].cancel()
        XCTAssertEqual(kept[0].next(timeout: 1), .ended, "cancel drops what was pending")
        XCTAssertEqual(store.events.subscriberCount, 99)
        kept.removeAll()  // a client that vanished without cancelling
        XCTAssertEqual(store.events.subscriberCount, 0)

        // Subscriptions to finished jobs are never registered; finishing releases the rest.
        _ = try store.subscribe(id)
        let held = try store.subscribe(id)
        try store.cancel(id)
        XCTAssertEqual(store.events.subscriberCount, 0)
        XCTAssertEqual(collectEvents(held, timeout: 1), [.queued, .cancelled])
        _ = try store.subscribe(id)
        XCTAssertEqual(store.events.subscriberCount, 0)
    }

    func testSlowSubscriberBacklogStaysSmall() throws {
        let store = try openStore()
        let id = try store.submit(type: "story", params: .json("{}")).job.id
        let subscription = try store.subscribe(id)
        let lease = try store.markRunning(id)
        for index in 0..<5_000 { lease.progress.token("\(index) ") }
        let expected = (0..<5_000).map { "\($0) " }.joined()
        XCTAssertEqual(subscription.next(timeout: 1), .event(.queued))
        XCTAssertEqual(subscription.next(timeout: 1), .event(.started(attempt: 1)))
        XCTAssertEqual(subscription.next(timeout: 1), .event(.token(expected)))
        XCTAssertEqual(subscription.next(timeout: 0.01), .timedOut)
    }

    func testAsyncIterationEndsAfterFinalEvent() throws {
        let store = try openStore()
        let id = try store.submit(type: "story", params: .json("{}")).job.id
        let subscription = try store.subscribe(id)
        let collected = expectation(description: "stream ended")
        let received = LockedArray<JobEvent>()
        Task {
            for await event in subscription { received.append(event) }
            collected.fulfill()
        }
        let lease = try store.markRunning(id)
        for word in ["The", " end"] {
            lease.progress.token(word)
            usleep(1_000)
        }
        try store.complete(lease, result: .json(#""x""#))
        wait(for: [collected], timeout: 10)
        XCTAssertEqual(received.values.first, .queued)
        XCTAssertEqual(renderedText(received.values), "The end")
        XCTAssertEqual(received.values.last, .done(result: .json(#""x""#)))
    }

    func testCancellingTheConsumingTaskEndsIteration() throws {
        let store = try openStore()
        let id = try store.submit(type: "story", params: .json("{}")).job.id
        let ended = expectation(description: "iteration ended")
        let task = Task {
            let subscription = try store.subscribe(id)
            var count = 0
            for await _ in subscription { count += 1 }
            ended.fulfill()
            return count
        }
        waitUntil(timeout: 5, "subscribed") { store.events.subscriberCount == 1 }
        usleep(10_000)  // let the task park in next()
        task.cancel()
        wait(for: [ended], timeout: 10)
        // The subscription was dropped with the task's iterator: nothing leaks.
        waitUntil(timeout: 5, "unsubscribed") { store.events.subscriberCount == 0 }
    }

    func testClosingTheStoreEndsSubscriptions() throws {
        let store = try openStore()
        let id = try store.submit(type: "story", params: .json("{}")).job.id
        let subscription = try store.subscribe(id)
        XCTAssertEqual(subscription.next(timeout: 1), .event(.queued))
        let waiter = expectation(description: "blocked reader woke up")
        Thread {
            if subscription.next(timeout: 10) == .ended { waiter.fulfill() }
        }.start()
        usleep(20_000)
        store.close()
        wait(for: [waiter], timeout: 10)
        XCTAssertEqual(store.events.subscriberCount, 0)
    }

    /// Subscribers joining at random moments while tokens stream must each end up with exactly
    /// the full text: the snapshot and the live events neither overlap nor leave a gap.
    func testSubscribersJoiningMidStreamSeeEveryTokenExactlyOnce() throws {
        let store = try openStore()
        let id = try store.submit(type: "story", params: .json("{}")).job.id
        let lease = try store.markRunning(id)
        let tokenCount = 3_000
        let expected = (0..<tokenCount).map { "<\($0)>" }.joined()
        let results = LockedArray<String>()
        let producerDone = DispatchSemaphore(value: 0)
        Thread {
            for index in 0..<tokenCount {
                lease.progress.token("<\(index)>")
                if index % 100 == 0 { usleep(200) }
            }
            _ = try? store.complete(lease, result: .json("{}"))
            producerDone.signal()
        }.start()
        DispatchQueue.concurrentPerform(iterations: 8) { index in
            usleep(UInt32(index * 700))
            guard let subscription = try? store.subscribe(id) else { return results.append("subscribe failed") }
            let events = collectEvents(subscription, timeout: 20)
            // A subscriber arriving after the end only gets the final event (and the result has the text).
            if events == [.done(result: .json("{}"))] { return results.append(expected) }
            results.append(renderedText(events))
        }
        producerDone.wait()
        XCTAssertEqual(results.values.count, 8)
        for text in results.values { XCTAssertEqual(text, expected) }
    }
}
