/// One sequence's part of a forward pass: tokens to append to its cache.
public struct SequenceStep {
    public var cache: KVCache
    /// Tokens at positions cache.length ..< cache.length + tokens.count.
    public var tokens: ArraySlice<Int>
    /// Logits for every token of the step (a speculative verify pass checks each draft
    /// token), not only the last.
    public var logitsForEveryToken: Bool

    public init(cache: KVCache, tokens: ArraySlice<Int>, logitsForEveryToken: Bool = false) {
        self.cache = cache
        self.tokens = tokens
        self.logitsForEveryToken = logitsForEveryToken
    }

    /// Rows of logits this step writes.
    public var logitsRows: Int { logitsForEveryToken ? tokens.count : 1 }
}

/// A decoder-only language model as the generation loop sees it.
///
/// A forward pass takes any number of sequences, each with its own cache and any
/// number of new tokens: a prompt (prefill), one token (decode), or many
/// sequences at one token each (batched decode). All their rows go through each
/// weight matrix together, which is what makes batching pay.
///
/// A model's forward is not reentrant (it owns one workspace); one executor
/// drives it at a time.
public protocol CausalLanguageModel: AnyObject {
    /// Width of a logits row.
    var vocabularySize: Int { get }
    /// Positions the model can attend over (GPT-2's n_positions).
    var maxPositions: Int { get }
    /// A cache with room for `capacity` positions (at most `maxPositions`).
    func makeCache(capacity: Int) -> KVCache
    /// Appends each step's tokens to its cache and writes the logits of each
    /// step's last token (of every token, with `logitsForEveryToken`), one row of
    /// `vocabularySize` after another in step order.
    func forward(_ steps: [SequenceStep], logits: UnsafeMutablePointer<Float>) throws
    /// Whether `forward` honours `SequenceStep.logitsForEveryToken` (speculative decoding needs it).
    var writesLogitsForEveryToken: Bool { get }
}

extension CausalLanguageModel {
    public var writesLogitsForEveryToken: Bool { false }
}
