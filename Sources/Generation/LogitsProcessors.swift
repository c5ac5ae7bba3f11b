import Foundation

/// The logits filters, each as transformers' `LogitsProcessor` of the same name
/// computes it, over one row of `count` scores. Removed tokens become -inf.
///
/// They are free functions over raw rows so the sampler, beam search and the
/// tests all call the same code.
public enum LogitsProcessors {
    /// `RepetitionPenaltyLogitsProcessor`: for each distinct token already in the
    /// sequence, a positive score is divided by `penalty`, a negative one multiplied.
    public static func repetitionPenalty(_ scores: UnsafeMutablePointer<Float>, distinctTokens: [Int], penalty: Float) {
        guard penalty != 1 else { return }
        for token in distinctTokens {
            let s = scores[token]
            scores[token] = s < 0 ? s * penalty : s / penalty
        }
    }

    /// OpenAI's presence and frequency penalties: score -= count·frequency + (count > 0)·presence,
    /// counted over the generated tokens.
    public static func presenceFrequencyPenalty(
        _ scores: UnsafeMutablePointer<Float>, generatedCounts: UnsafePointer<Int32>, distinctGenerated: [Int],
        presence: Float, frequency: Float
    ) {
        guard presence != 0 || frequency != 0 else { return }
        for token in distinctGenerated {
            let count = generatedCounts[token]
            guard count > 0 else { continue }
            scores[token] -= Float(count) * frequency + presence
        }
    }

    /// `NoRepeatNGramLogitsProcessor`: bans every token that would repeat an n-gram
    /// already present in `tokens`.
    public static func noRepeatNgram(_ scores: UnsafeMutablePointer<Float>, tokens: ArraySlice<Int>, size n: Int) {
        guard n > 0, tokens.count + 1 >= n else { return }
        let base = tokens.startIndex
        let length = tokens.count
        if n == 1 {
            for t in tokens { scores[t] = -.infinity }
            return
        }
        // The n-1 most recent tokens are the prefix a new n-gram would start with.
        let prefixStart = base + length - (n - 1)
        var start = base
        while start + n <= base + length {
            var matches = true
            for j in 0..<(n - 1) where tokens[start + j] != tokens[prefixStart + j] {
                matches = false
                break
            }
            if matches { scores[tokens[start + n - 1]] = -.infinity }
            start += 1
        }
    }

    /// `TemperatureLogitsWarper`.
    public static func temperature(_ scores: UnsafeMutablePointer<Float>, count: Int, temperature: Float) {
        guard temperature != 1 else { return }
        for i in 0..<count { scores[i] = scores[i] / temperature }
    }

    /// `TopKLogitsWarper`: keeps the scores >= the k-th largest (ties at the k-th all stay).
    /// `scratch` holds at least `count` floats.
    public static func topK(
        _ scores: UnsafeMutablePointer<Float>, count: Int, k: Int, scratch: UnsafeMutablePointer<Float>
    ) {
        guard k > 0, k < count else { return }
        scratch.update(from: scores, count: count)
        let threshold = kthLargest(scratch, count: count, k: k)
        for i in 0..<count where scores[i] < threshold { scores[i] = -.infinity }
    }

    /// `TopPLogitsWarper`: sorts ascending, removes tokens whose cumulative
    /// probability is <= 1 - p, always keeping the most likely one.
    /// `indices` and `probabilities` are scratch of at least `count` elements.
    public static func topP(
        _ scores: UnsafeMutablePointer<Float>, count: Int, p: Float,
        indices: UnsafeMutablePointer<Int32>, probabilities: UnsafeMutablePointer<Float>
    ) {
        guard p < 1 else { return }
        // Tokens already at -inf have probability 0 and sort first: they change no
        // cumulative sum, so only finite scores take part.
        var n = 0
        for i in 0..<count where scores[i] > -.infinity {
            indices[n] = Int32(i)
            n += 1
        }
        guard n > 1 else { return }
        var candidates = UnsafeMutableBufferPointer(start: indices, count: n)
        candidates.sort { a, b in
            let sa = scores[Int(a)]
            let sb = scores[Int(b)]
            return sa < sb || (sa == sb && a > b)
        }
        let maximum = scores[Int(indices[n - 1])]
        var total: Float = 0
        for j in 0..<n {
            let e = expf(scores[Int(indices[j])] - maximum)
            probabilities[j] = e
            total += e
        }
        let threshold = 1 - p
        var cumulative: Float = 0
        for j in 0..<(n - 1) {
            cumulative += probabilities[j] / total
            guard cumulative <= threshold else { break }
            scores[Int(indices[j])] = -.infinity
        }
    }

    /// `MinPLogitsWarper`: removes tokens less likely than `minP` times the most likely one.
    public static func minP(_ scores: UnsafeMutablePointer<Float>, count: Int, minP: Float) {
        guard minP > 0, count > 0 else { return }
        var maximum = -Float.infinity
        for i in 0..<count { maximum = max(maximum, scores[i]) }
        guard maximum > -.infinity else { return }
        var total: Float = 0
        for i in 0..<count { total += expf(scores[i] - maximum) }
        // Same arithmetic as torch: probabilities first, then the comparison.
        let topProbability = 1 / total
        let cut = minP * topProbability
        for i in 0..<count where expf(scores[i] - maximum) / total < cut {
            scores[i] = -.infinity
        }
    }

    /// Index of the largest score; the first one on ties, as `torch.argmax`.
    public static func argmax(_ scores: UnsafePointer<Float>, count: Int) -> Int {
        var best = 0
        var bestScore = -Float.infinity
        for i in 0..<count where scores[i] > bestScore {
            best = i
            bestScore = scores[i]
        }
        return best
    }

    /// The k-th largest of `values` (1-based), reordering `values` (quickselect, O(count)).
    static func kthLargest(_ values: UnsafeMutablePointer<Float>, count: Int, k: Int) -> Float {
        var low = 0
        var high = count - 1
        let target = k - 1  // index in descending order
        while low < high {
            let pivot = values[(low + high) / 2]
            var i = low
            var j = high
            while i <= j {
                while values[i] > pivot { i += 1 }
                while values[j] < pivot { j -= 1 }
                if i <= j {
                    values.swapAt(i, j)
                    i += 1
                    j -= 1
                }
            }
            if target <= j { high = j } else if target >= i { low = i } else { break }
        }
        return values[target]
    }
}

extension UnsafeMutablePointer where Pointee == Float {
    @inline(__always) fileprivate func swapAt(_ i: Int, _ j: Int) {
        let t = self[i]
        self[i] = self[j]
        self[j] = t
    }
}
