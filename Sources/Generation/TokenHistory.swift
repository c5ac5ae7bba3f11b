/// The tokens of one sequence and the counts the penalties need, kept up to date
/// as tokens are appended (no rescans per step).
public final class TokenHistory {
    /// Prompt and generated tokens, in order.
    public private(set) var tokens: [Int]
    public let promptCount: Int
    /// Each token of the sequence once (repetition penalty).
    public private(set) var distinctTokens: [Int] = []
    /// Each generated token once (presence and frequency penalties).
    public private(set) var distinctGenerated: [Int] = []
    /// Occurrences of each token in the whole sequence, so that `truncate` knows when one is gone.
    private var occurrences: [Int32]
    private var generatedCounts: [Int32]

    public init(prompt: [Int], vocabularySize: Int, reserve: Int) {
        tokens = prompt
        tokens.reserveCapacity(prompt.count + reserve)
        promptCount = prompt.count
        occurrences = [Int32](repeating: 0, count: vocabularySize)
        generatedCounts = [Int32](repeating: 0, count: vocabularySize)
        // Sized up front so that appending a token never grows them during decoding.
        distinctTokens.reserveCapacity(min(vocabularySize, prompt.count + reserve))
        distinctGenerated.reserveCapacity(min(vocabularySize, reserve))
        for token in prompt where token >= 0 && token < vocabularySize {
            if occurrences[token] == 0 { distinctTokens.append(token) }
            occurrences[token] += 1
        }
    }

    public var generated: ArraySlice<Int> { tokens[promptCount...] }

    public func append(_ token: Int) {
        tokens.append(token)
        guard token >= 0 && token < occurrences.count else { return }
        if occurrences[token] == 0 { distinctTokens.append(token) }
        occurrences[token] += 1
        if generatedCounts[token] == 0 { distinctGenerated.append(token) }
        generatedCounts[token] += 1
    }

    /// Forgets the generated tokens from index `count` on (speculative decoding takes back
    /// the draft tokens it tried), as if they had never been appended. Allocates nothing.
    public func truncate(to count: Int) {
        precondition(count >= promptCount && count <= tokens.count, "only generated tokens can be taken back")
        while tokens.count > count {
            let token = tokens.removeLast()
            guard token >= 0 && token < occurrences.count else { continue }
            occurrences[token] -= 1
            if occurrences[token] == 0 { removeOne(token, from: &distinctTokens) }
            generatedCounts[token] -= 1
            if generatedCounts[token] == 0 { removeOne(token, from: &distinctGenerated) }
        }
    }

    func withGeneratedCounts<R>(_ body: (UnsafePointer<Int32>) -> R) -> R {
        generatedCounts.withUnsafeBufferPointer { body($0.baseAddress!) }
    }

    /// The penalties treat these lists as sets: order does not matter, so a swap-remove will do.
    private func removeOne(_ token: Int, from list: inout [Int]) {
        guard let index = list.lastIndex(of: token) else { return }
        list.swapAt(index, list.count - 1)
        list.removeLast()
    }
}
