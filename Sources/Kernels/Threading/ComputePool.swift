import Foundation
import Synchronization

#if arch(x86_64)
    import X86Intrinsics
#endif

/// The threads the kernels run on: the caller is worker 0, plus `threadCount - 1`
/// dedicated threads that spin for up to a millisecond between jobs and then sleep.
///
/// A decode step calls ~60 kernels, microseconds to a few hundred microseconds apart;
/// waking threads for each costs more than the work on small models, so the workers
/// spin after each job (llama.cpp does the same), yielding the core now and then.
/// OpenBLAS is kept single-threaded and its calls are split across this pool
/// too, so the two never fight over the cores.
///
/// Sendable by hand: worker state is only touched under its locks and semaphores.
public final class ComputePool: @unchecked Sendable {
    /// The process-wide pool; `ComputePool.configure(threads:)` sizes it before first use.
    public static var shared: ComputePool {
        sharedLock.lock()
        defer { sharedLock.unlock() }
        if let pool = sharedPool { return pool }
        let pool = ComputePool(threads: requestedThreads ?? ProcessInfo.processInfo.activeProcessorCount)
        sharedPool = pool
        return pool
    }

    /// Sets the size of the shared pool (replacing it if it already runs).
    public static func configure(threads: Int) {
        sharedLock.lock()
        requestedThreads = max(1, threads)
        let old = sharedPool
        sharedPool = nil
        sharedLock.unlock()
        old?.stop()
    }

    nonisolated(unsafe) private static var sharedPool: ComputePool?
    nonisolated(unsafe) private static var requestedThreads: Int?
    private static let sharedLock = NSLock()

    public let threadCount: Int
    private let generation = Atomic<Int>(0)
    private let unfinished = Atomic<Int>(0)
    private let sleepers = Atomic<Int>(0)
    private let stopping = Atomic<Bool>(false)
    private let wake = NSCondition()
    private let callerLock = NSLock()
    /// Published before `generation` is bumped (release) and read after (acquire).
    nonisolated(unsafe) private var job: ((Int) -> Void)?
    private var workerThreads: [Thread] = []

    /// How long a worker spins after a job before it sleeps. Long enough to span the serial
    /// work between two kernels (layer norms, activations, quantizing a product's input,
    /// picking tokens: up to a few hundred microseconds at batch 8), because a sleeping worker
    /// costs a futex wake and tens of microseconds of wake-up on the next kernel, while the
    /// caller runs its share and waits.
    private static let spinNanoseconds: UInt64 = 1_000_000

    public init(threads: Int) {
        threadCount = max(1, threads)
        setBLASThreads(1)
        for index in 1..<threadCount {
            // Strong capture: a worker outlives nothing it needs; `stop()` ends it.
            let thread = Thread { self.workerLoop(index: index) }
            thread.name = "octavo-compute-\(index)"
            thread.stackSize = 1 << 20
            workerThreads.append(thread)
            thread.start()
        }
    }

    /// Runs `body(t)` for every t in 0..<threadCount, t = 0 on the calling thread,
    /// and returns when all are done. Calls from different threads are serialized.
    ///
    /// `body` does not escape: its context stays on the caller's stack, so a kernel
    /// call allocates nothing (the workers drop their reference before reporting done).
    public func run(_ body: (Int) -> Void) {
        if threadCount == 1 {
            body(0)
            return
        }
        withoutActuallyEscaping(body) { escapable in
            callerLock.lock()
            defer { callerLock.unlock() }
            job = escapable
            unfinished.store(threadCount - 1, ordering: .sequentiallyConsistent)
            generation.add(1, ordering: .sequentiallyConsistent)
            if sleepers.load(ordering: .sequentiallyConsistent) > 0 {
                wake.lock()
                wake.broadcast()
                wake.unlock()
            }
            escapable(0)
            var wait = SpinWait()
            while unfinished.load(ordering: .acquiring) > 0 { wait.turn() }
            job = nil
        }
    }

    /// Splits 0..<count into one contiguous range per thread (rounded to `granularity`)
    /// and runs them in parallel; small problems stay on the caller.
    public func parallelFor(_ count: Int, granularity: Int = 1, minimumPerThread: Int = 1, _ body: (Range<Int>) -> Void)
    {
        let threads = min(threadCount, max(1, count / max(minimumPerThread, 1)))
        if threads <= 1 {
            body(0..<count)
            return
        }
        let units = (count + granularity - 1) / granularity
        run { t in
            guard t < threads else { return }
            let start = min(count, (units * t / threads) * granularity)
            let end = t == threads - 1 ? count : min(count, (units * (t + 1) / threads) * granularity)
            if start < end { body(start..<end) }
        }
    }

    private func workerLoop(index: Int) {
        var seen = 0
        while true {
            var current = generation.load(ordering: .acquiring)
            var wait = SpinWait()
            var spinUntil = DispatchTime.now().uptimeNanoseconds + Self.spinNanoseconds
            while current == seen {
                if stopping.load(ordering: .relaxed) { return }
                // The clock is read every 256 turns; a turn is a few nanoseconds.
                if wait.turns & 255 != 255 || DispatchTime.now().uptimeNanoseconds < spinUntil {
                    wait.turn()
                } else {
                    wake.lock()
                    sleepers.add(1, ordering: .sequentiallyConsistent)
                    while generation.load(ordering: .sequentiallyConsistent) == seen
                        && !stopping.load(ordering: .relaxed)
                    {
                        wake.wait()
                    }
                    sleepers.subtract(1, ordering: .sequentiallyConsistent)
                    wake.unlock()
                    spinUntil = DispatchTime.now().uptimeNanoseconds + Self.spinNanoseconds
                    wait = SpinWait()
                }
                current = generation.load(ordering: .acquiring)
            }
            seen = current
            if stopping.load(ordering: .relaxed) { return }
            // The closure is read, called and released within this statement, before
            // the caller is told this worker is done (`run` relies on that).
            callJob(index)
            unfinished.subtract(1, ordering: .releasing)
        }
    }

    @inline(never) private func callJob(_ index: Int) {
        job?(index)
    }

    /// Ends the worker threads (after which `run` must not be called).
    public func stop() {
        stopping.store(true, ordering: .sequentiallyConsistent)
        wake.lock()
        wake.broadcast()
        wake.unlock()
    }
}

/// A busy-wait that gives the core away now and then: PAUSE on every turn, and after the
/// first few thousand turns (some microseconds) a `sched_yield` every 256. Without the yields,
/// threads spinning on every core starve any other thread that needs one, and that may be the
/// very worker they wait for, preempted; with the cores free the yields cost nothing
/// measurable.
struct SpinWait {
    private(set) var turns = 0
    /// Turns of pure spinning before the first yield.
    static let turnsBeforeYielding = 4096

    @inline(__always)
    mutating func turn() {
        turns &+= 1
        if turns & 255 == 0 && turns >= Self.turnsBeforeYielding {
            sched_yield()
        } else {
            #if arch(x86_64)
                spinLoopHint()  // x86's PAUSE: what a spin loop should say, for the core's speculation and an SMT sibling
            #endif
        }
    }
}
