/// One sequence's part of a forward pass: tokens to append to its cache.
public struct SequenceStep {
    public var cache: KVCache
    /// Tokens at positions cache.length ..< cache.length + tokens.count.
    public var tokens: ArraySlice<Int>

    public init(cache: KVCache, tokens: ArraySlice<Int>) {
        self.cache = cache
        self.tokens = tokens
    }
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
    /// step's last token to `logits[i·vocabularySize ..< (i+1)·vocabularySize]`.
    func forward(_ steps: [SequenceStep], logits: UnsafeMutablePointer<Float>) throws
}
