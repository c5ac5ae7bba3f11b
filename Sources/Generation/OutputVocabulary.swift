/// The tokens a restricted output layer scores (CTranslate2's vocabulary restriction): every
/// other token's logit is -infinity, so no decoding strategy can choose it. Ascending, no repeats.
public struct OutputVocabulary: Sendable, Equatable {
    public let tokens: [Int]

    /// The distinct tokens of `tokens`, sorted.
    public init(_ tokens: some Sequence<Int>) {
        self.tokens = Array(Set(tokens)).sorted()
    }

    public var count: Int { tokens.count }

    public func contains(_ token: Int) -> Bool {
        var low = 0
        var high = tokens.count
        while low < high {
            let middle = (low + high) / 2
            if tokens[middle] < token { low = middle + 1 } else { high = middle }
        }
        return low < tokens.count && tokens[low] == token
    }
}
