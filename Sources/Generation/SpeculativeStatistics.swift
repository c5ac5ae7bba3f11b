/// What a speculative generation did: how many draft tokens it proposed and kept.
public struct SpeculativeStatistics: Sendable, Equatable {
    /// Verify passes of the target after the prompt.
    public var rounds = 0
    public var proposedTokens = 0
    public var acceptedTokens = 0

    public init() {}

    /// Share of the proposed tokens the target kept (0 when nothing was proposed).
    public var acceptanceRate: Double { proposedTokens > 0 ? Double(acceptedTokens) / Double(proposedTokens) : 0 }
    /// Tokens gained per target forward pass (1 is the plain loop).
    public var tokensPerRound: Double { rounds > 0 ? Double(acceptedTokens + rounds) / Double(rounds) : 0 }
}
