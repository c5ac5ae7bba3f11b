/// Two drafts in turn: the first one's guesses when it has any, the second's otherwise. Put a
/// free draft first (`NGramDraft`) and a model second, and the model runs only where the text
/// does not repeat what came before.
public final class FallbackDraft: SpeculativeDraft {
    public let first: SpeculativeDraft
    public let second: SpeculativeDraft

    public init(first: SpeculativeDraft, second: SpeculativeDraft) {
        self.first = first
        self.second = second
    }

    public func start(capacity: Int) throws {
        try first.start(capacity: capacity)
        try second.start(capacity: capacity)
    }

    public func propose(
        count: Int, history: TokenHistory, sampler: Sampler, probabilities: UnsafeMutablePointer<Float>?
    ) throws -> Int {
        let proposed = try first.propose(count: count, history: history, sampler: sampler, probabilities: probabilities)
        if proposed > 0 { return proposed }
        return try second.propose(count: count, history: history, sampler: sampler, probabilities: probabilities)
    }

    public func keep(prefix length: Int) {
        first.keep(prefix: length)
        second.keep(prefix: length)
    }
}
