/// What an encoder made of one source sequence, in the form every decoder step
/// reads it: the cross-attention keys and values of each decoder layer. Computed
/// once per source by `Seq2SeqModel.encode` and shared, read-only, by all the
/// target sequences (beams) translating that source.
public final class EncodedSource: Sendable {
    /// Source tokens (the cross-attention length).
    public let tokenCount: Int
    /// Keys and values per decoder layer, filled to `tokenCount` positions.
    public let crossAttention: KVCache

    public init(tokenCount: Int, crossAttention: KVCache) {
        precondition(
            crossAttention.length == tokenCount,
            "the cross-attention cache must hold every source "
                + "position")
        self.tokenCount = tokenCount
        self.crossAttention = crossAttention
    }
}

/// One target sequence's part of a batched decoder step: append `token` and
/// produce the logits of the next one.
public struct Seq2SeqStep {
    /// The target sequence's self-attention keys and values; `token` is stored at
    /// position `target.length`.
    public var target: KVCache
    /// The source being translated.
    public var source: EncodedSource
    public var token: Int
    /// Several steps of one target sequence in one pass (a speculative verify): the token goes
    /// at position `target.length + offset`. Such steps share the cache, come in offset order
    /// (0, 1, ...), and see each other causally; the cache advances once per step.
    public var offset: Int

    public init(target: KVCache, source: EncodedSource, token: Int, offset: Int = 0) {
        self.target = target
        self.source = source
        self.token = token
        self.offset = offset
    }
}

/// An encoder-decoder model as `Seq2SeqGenerator` and `BeamSearch` drive it.
///
/// The source sentences are encoded once, all together; then each decoder step
/// takes one token for each of any number of target sequences (every live beam of
/// every input) and runs all of them through each weight matrix together.
///
/// Like `CausalLanguageModel`, a model owns its workspaces and is not reentrant:
/// one caller drives it at a time.
public protocol Seq2SeqModel: AnyObject {
    /// Width of a logits row.
    var vocabularySize: Int { get }
    /// Longest source the encoder reads (tokens).
    var maxSourcePositions: Int { get }
    /// Most target tokens the decoder reads (decoder start included), so at most
    /// `maxTargetPositions + 1` tokens come out (transformers' max_length).
    var maxTargetPositions: Int { get }
    /// Encodes the sources in one batch (each at its own length; no padding is
    /// attended), returning what the decoder needs of each, in order.
    func encode(_ sources: [[Int]]) throws -> [EncodedSource]
    /// An empty self-attention cache for one target sequence, with room for
    /// `capacity` tokens (at most `maxTargetPositions`).
    func makeTargetCache(capacity: Int) -> KVCache
    /// Appends each step's token to its target cache and, when `logits` is given,
    /// writes the next-token logits of step i to `logits[i·vocabularySize ..< (i+1)·vocabularySize]`.
    /// `nil` skips the output layer (the step's choice is forced). With `vocabulary`, only
    /// its tokens are scored and every other logit is -infinity.
    func decode(_ steps: [Seq2SeqStep], logits: UnsafeMutablePointer<Float>?, vocabulary: OutputVocabulary?) throws
    /// The next-token logits of steps `rows` of the last `decode`, row `rows.lowerBound + i` to
    /// `logits[i·vocabularySize ..< (i+1)·vocabularySize]`; with `vocabulary`, as in `decode`.
    /// Lets one decoder step score its rows in groups (each with its own vocabulary) or skip
    /// the rows whose choice is forced.
    func score(rows: Range<Int>, logits: UnsafeMutablePointer<Float>, vocabulary: OutputVocabulary?) throws
}

extension Seq2SeqModel {
    /// A step scoring the whole vocabulary.
    public func decode(_ steps: [Seq2SeqStep], logits: UnsafeMutablePointer<Float>?) throws {
        try decode(steps, logits: logits, vocabulary: nil)
    }
}
