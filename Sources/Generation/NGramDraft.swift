/// A draft with no model: finds the most recent earlier occurrence of the sequence's last few
/// tokens (in the prompt or the text so far) and proposes what followed it there. Text that
/// repeats or copies its prompt (names, numbers, code) is guessed for free, and a loop is
/// proposed as far as asked.
public final class NGramDraft: SpeculativeDraft {
    /// Longest and shortest suffix looked up; longer matches are tried first.
    public let longestMatch: Int
    public let shortestMatch: Int
    /// Searched after the sequence itself when it has no match (a translation's source
    /// sentence: names and numbers come across unchanged).
    public var reference: [Int] = []
    private var found: [Int] = []

    public init(longestMatch: Int = 3, shortestMatch: Int = 1) {
        precondition(shortestMatch >= 1 && longestMatch >= shortestMatch)
        self.longestMatch = longestMatch
        self.shortestMatch = shortestMatch
        found.reserveCapacity(64)
    }

    public func start(capacity: Int) throws {}

    public func propose(
        count: Int, history: TokenHistory, sampler: Sampler, probabilities: UnsafeMutablePointer<Float>?
    ) throws -> Int {
        found.removeAll(keepingCapacity: true)
        // Read into `found` first: appending to the history while holding its array would copy it.
        history.tokens.withUnsafeBufferPointer { tokens in
            lookup(in: tokens, count: count)
            if found.isEmpty && !reference.isEmpty {
                reference.withUnsafeBufferPointer { lookup(suffixOf: tokens, in: $0, count: count) }
            }
        }
        let vocabulary = sampler.vocabularySize
        for (i, token) in found.enumerated() {
            if let probabilities {
                // The proposal is certain: q is one-hot, so it is kept with probability p(token).
                let row = probabilities + i * vocabulary
                row.update(repeating: 0, count: vocabulary)
                if token >= 0 && token < vocabulary { row[token] = 1 }
            }
            history.append(token)
        }
        return found.count
    }

    public func keep(prefix length: Int) {}

    /// What followed the latest, longest occurrence of the end of `tokens` in `text`.
    private func lookup(suffixOf tokens: UnsafeBufferPointer<Int>, in text: UnsafeBufferPointer<Int>, count: Int) {
        let n = tokens.count
        guard count > 0 else { return }
        var size = min(longestMatch, n)
        while size >= shortestMatch {
            var start = text.count - size - 1
            while start >= 0 {
                var matches = true
                for j in 0..<size where text[start + j] != tokens[n - size + j] {
                    matches = false
                    break
                }
                if matches {
                    let from = start + size
                    for j in from..<min(from + count, text.count) { found.append(text[j]) }
                    return
                }
                start -= 1
            }
            size -= 1
        }
    }

    private func lookup(in tokens: UnsafeBufferPointer<Int>, count: Int) {
        let n = tokens.count
        guard count > 0 else { return }
        var size = min(longestMatch, n - 1)
        while size >= shortestMatch {
            // Latest start first: the most recent context predicts best.
            var start = n - size - 1
            while start >= 0 {
                var matches = true
                for j in 0..<size where tokens[start + j] != tokens[n - size + j] {
                    matches = false
                    break
                }
                if matches {
                    // Copied as LZ77 copies: a continuation that runs into the end of the
                    // sequence goes on through the tokens just proposed, so a repeating
                    // pattern is proposed as far as asked.
                    let from = start + size
                    for j in from..<(from + count) { found.append(j < n ? tokens[j] : found[j - n]) }
                    return
                }
                start -= 1
            }
            size -= 1
        }
    }
}
