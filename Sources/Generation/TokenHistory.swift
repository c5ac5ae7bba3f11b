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
    private var seen: [Bool]
    private var generatedCounts: [Int32]

    public init(prompt: [Int], vocabularySize: Int, reserve: Int) {
        tokens = prompt
        tokens.reserveCapacity(prompt.count + reserve)
        promptCount = prompt.count
        seen = [Bool](repeating: false, count: vocabularySize)
        generatedCounts = [Int32](repeating: 0, count: vocabularySize)
        for token in prompt where token >= 0 && token < vocabularySize && !seen[token] {
            seen[token] = true
            distinctTokens.append(token)
        }
    }

    public var generated: ArraySlice<Int> { tokens[promptCount...] }

    public func append(_ token: Int) {
        tokens.append(token)
        guard token >= 0 && token < seen.count else { return }
        if !seen[token] {
            seen[token] = true
            distinctTokens.append(token)
        }
        if generatedCounts[token] == 0 { distinctGenerated.append(token) }
        generatedCounts[token] += 1
    }

    func withGeneratedCounts<R>(_ body: (UnsafePointer<Int32>) -> R) -> R {
        generatedCounts.withUnsafeBufferPointer { body($0.baseAddress!) }
    }
}
