import Kernels
import Tensor

/// Reorders one input's beam caches after a step: new beam j continues old beam
/// parents[j]. A parent's cache object moves to its first child as is; only a
/// second child of the same parent costs a copy (into a cache nobody continues).
final class BeamCacheReorder {
    private var taken: [Bool]
    private var next: [KVCache?]
    private var free: [Int]

    init(beams: Int) {
        taken = [Bool](repeating: false, count: beams)
        next = [KVCache?](repeating: nil, count: beams)
        free = []
        free.reserveCapacity(beams)
    }

    func apply(_ caches: inout [KVCache], parents: [Int]) {
        let beams = caches.count
        for b in 0..<beams { taken[b] = false }
        for j in 0..<beams {
            let parent = parents[j]
            if taken[parent] {
                next[j] = nil
            } else {
                taken[parent] = true
                next[j] = caches[parent]
            }
        }
        free.removeAll(keepingCapacity: true)
        for b in 0..<beams where !taken[b] { free.append(b) }
        for j in 0..<beams where next[j] == nil {
            let spare = caches[free.removeLast()]
            spare.copy(from: caches[parents[j]])
            next[j] = spare
        }
        for j in 0..<beams {
            caches[j] = next[j]!
            next[j] = nil
        }
    }
}

/// Target caches start small and double when full: most translations are far
/// shorter than max_length (NLLB: 200), and a full-length cache per beam of
/// every input would cost 12 layers × 2 × 1024 floats per position.
enum TargetCacheGrowth {
    /// Room for a translation half again as long as its source; growing past that costs a copy.
    static func initialCapacity(source: EncodedSource, maxLength: Int) -> Int {
        min(maxLength - 1, max(16, source.tokenCount + source.tokenCount / 2 + 8))
    }

    /// Replaces caches (all of one input have the same length) without room for `rows` more
    /// positions with ones twice as large, or as large as the rows need.
    static func growIfFull(_ caches: inout [KVCache], rows: Int = 1, model: Seq2SeqModel, maxLength: Int) {
        guard let first = caches.first, first.remaining < rows else { return }
        let capacity = min(maxLength - 1, max(2 * first.capacity, first.length + rows))
        guard capacity > first.capacity else { return }  // the search never feeds more than max_length - 1 tokens
        for b in caches.indices {
            let larger = model.makeTargetCache(capacity: capacity)
            larger.copy(from: caches[b])
            caches[b] = larger
        }
    }
}
