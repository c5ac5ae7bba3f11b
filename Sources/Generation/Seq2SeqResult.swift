/// The target sequence generated for one source.
public struct Seq2SeqOutput: Sendable, Equatable {
    /// transformers' `generate()` row for this source, without batch padding: the
    /// decoder start, the forced first token (the target language), the generated
    /// tokens, and the EOS when one ended the sequence.
    public let ids: [Int]
    /// `.eos`, `.length` (max_length reached), or `.cancelled`.
    public let finishReason: FinishReason
    /// Beam search: the hypothesis score, sum(log p) / generated^length_penalty
    /// (transformers' `sequences_scores`). nil for greedy decoding and sampling.
    public let score: Float?

    public init(ids: [Int], finishReason: FinishReason, score: Float?) {
        self.ids = ids
        self.finishReason = finishReason
        self.score = score
    }

    /// The generated tokens: everything after the decoder start.
    public var generatedIDs: ArraySlice<Int> { ids.dropFirst() }
}

/// Wall-clock times and counts of one (batched) encoder-decoder generation.
public struct Seq2SeqTimings: Sendable, Codable, Equatable {
    /// The encoder pass over all sources, cross-attention keys/values included.
    public var encodeMs: Double = 0
    /// Every decoder step, search bookkeeping included.
    public var decodeMs: Double = 0
    public var sourceTokens: Int = 0
    /// Generated tokens in the returned outputs (decoder start excluded).
    public var targetTokens: Int = 0
    /// Batched decoder steps run (each advances every live sequence or beam by one token).
    public var decoderSteps: Int = 0
    /// Sequence-steps computed: the sum over steps of the rows (beams) in each.
    public var decodedRows: Int = 0
    public init() {}
}

/// What `Seq2SeqGenerator.generate` returns: one output per source, in order.
public struct Seq2SeqResult: Sendable {
    public let outputs: [Seq2SeqOutput]
    public var timings: Seq2SeqTimings
    /// The sampling seed used (sequence i drew with seed + i); nil when not sampling.
    public let seed: UInt64?
}
