/// How many tokens the draft proposes per round, following its acceptance.
///
/// The rule: after a round where every proposal was kept, one more (up to `maximum`); after
/// a round where fewer than half were kept, one fewer (down to 1); otherwise unchanged. A
/// draft that keeps agreeing earns long rounds, one that keeps missing costs little.
public struct DraftLength: Sendable, Equatable {
    public let maximum: Int
    public private(set) var current: Int

    public init(initial: Int, maximum: Int) {
        precondition(initial >= 1 && maximum >= 1)
        self.maximum = maximum
        current = min(initial, maximum)
    }

    public mutating func record(proposed: Int, accepted: Int) {
        guard proposed > 0 else { return }  // nothing was guessed: nothing learned
        if accepted == proposed {
            current = min(current + 1, maximum)
        } else if 2 * accepted < proposed {
            current = max(current - 1, 1)
        }
    }
}
