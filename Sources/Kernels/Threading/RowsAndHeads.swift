extension ComputePool {
    /// Runs `body(row, head, thread)` for every (row, head) pair of an attention, spread
    /// over the pool; `thread` picks the caller's per-thread scratch (scores).
    ///
    /// Pairs are dealt round-robin: a decode step (one row) still gives both cores
    /// half the heads, and in a prompt, where later rows attend over more positions,
    /// every thread gets a mix of short and long rows. `multiplyAdds` estimates the
    /// whole job; a small one stays on the calling thread, where waking a worker
    /// would cost more than it saves.
    public func forEachRowAndHead(
        rows: Int, heads: Int, multiplyAdds: Int, _ body: (_ row: Int, _ head: Int, _ thread: Int) -> Void
    ) {
        let units = rows * heads
        let threads = multiplyAdds < Self.minimumParallelMultiplyAdds ? 1 : min(threadCount, units)
        if threads <= 1 {
            for u in 0..<units { body(u / heads, u % heads, 0) }
            return
        }
        run { t in
            guard t < threads else { return }
            var u = t
            while u < units {
                body(u / heads, u % heads, t)
                u += threads
            }
        }
    }

    /// Below this many multiply-adds (about 5 µs of attention) a job runs on one thread.
    static let minimumParallelMultiplyAdds = 16_384
}
