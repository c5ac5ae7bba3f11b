import Foundation
import Generation
import Kernels
import Tensor

/// M2M100 (NLLB-200's architecture) as transformers' `M2M100ForConditionalGeneration`
/// computes it, over weights memory-mapped from a Hugging Face folder.
///
///     encode:  h = encoder(shared[source]·scale + positions)          [source, d_model]
///              k, v = encoder_attn.k_proj(h), v_proj(h) per decoder layer, once per source
///     decode:  x = shared[token]·scale + positions                     one row per target sequence
///              x = decoder layers(x, target cache, source k/v)
///              logits = layer_norm(x) · lm_headᵀ                       [sequences, vocab]
///
/// `encode` and `decode` take whole batches; see `Seq2SeqModel`. One caller at a
/// time (a lock serializes calls: the model owns its workspaces).
///
/// Sendable by hand: the weights are immutable after load; the workspace is driven by one executor thread at
/// a time, as `Seq2SeqModel` requires.
public final class M2M100Model: Seq2SeqModel, @unchecked Sendable {
    public let config: M2M100Config
    public let checkpoint: Checkpoint
    let encoder: M2M100Encoder
    let decoder: M2M100Decoder
    /// The output layer [vocab, d_model]: the shared embedding when tied, else "lm_head.weight".
    let outputLayer: OutputLayer
    var lmHead: Linear { outputLayer.linear }
    /// Source and target tokens the position table holds.
    let positionLimit: Int
    /// Tied names of the embedding stored besides the one it was read from.
    let embeddingCopies: Set<String>
    /// The checkpoint's tensors, by the names it stores them under.
    public let tensors: M2M100Tensors

    private let encoderWorkspace: M2M100Workspace
    private let decoderWorkspace: M2M100Workspace
    private let lock = NSLock()
    /// Rows of the last decoder step, whose final hidden states `score` reads.
    private var lastStepRows = 0

    /// What the decoder's caches (its own keys and values, and the encoder output's for
    /// cross-attention) keep keys and values as.
    public let cachePrecision: KVCachePrecision

    /// Loads config.json and the weights of a Hugging Face M2M100 / NLLB folder.
    public convenience init(directory: URL, precision: WeightPrecision = .f32, cachePrecision: KVCachePrecision = .f32)
        throws
    {
        let config = try M2M100Config.load(directory: directory)
        try self.init(
            config: config, checkpoint: Checkpoint(directory: directory), precision: precision,
            cachePrecision: cachePrecision)
    }

    /// Builds the model from a config and weights named as transformers names them
    /// (`model.encoder.layers.0.self_attn.q_proj.weight`, ...), or without the
    /// `model.` prefix (an `M2M100Model` save). The token embedding is read from
    /// whichever of its tied names the checkpoint stores: save_pretrained keeps only
    /// `model.shared.weight`; older files also (or only) have the encoder's and
    /// decoder's `embed_tokens` and `lm_head`.
    /// Matrices are kept at `precision`; a file written by `octavo-infer quantize` is used as stored.
    public init(
        config: M2M100Config, checkpoint: Checkpoint, precision: WeightPrecision = .f32,
        cachePrecision: KVCachePrecision = .f32
    ) throws {
        try config.validate()
        self.config = config
        self.checkpoint = checkpoint
        self.cachePrecision = cachePrecision
        let tensors = M2M100Tensors(config: config, checkpoint: checkpoint)
        self.tensors = tensors
        let shared = try Embedding(checkpoint, tensors.shared)
        embeddingCopies = tensors.tiedCopies(in: checkpoint)
        // Rows past max_position_embeddings + 2 only matter for a pad id above 1: the
        // table then still holds max_position_embeddings tokens (transformers grows
        // its table on demand with the same values).
        let positions = M2M100SinusoidalPositions(
            maxPositions: config.maxPositionEmbeddings + max(0, config.padTokenID - 1),
            dimension: config.dModel, paddingIndex: config.padTokenID)
        positionLimit = config.maxPositionEmbeddings
        let embedding = M2M100InputEmbedding(
            tokens: shared, scale: config.embeddingScale, positions: positions, padTokenID: config.padTokenID)
        encoder = try M2M100Encoder(checkpoint, tensors, config, embedding: embedding, precision: precision)
        decoder = try M2M100Decoder(checkpoint, tensors, config, embedding: embedding, precision: precision)
        outputLayer = try OutputLayer(checkpoint, tensors.output, embedding: shared, precision: precision)
        encoderWorkspace = M2M100Workspace(
            dModel: config.dModel, ffnDim: config.encoderFFNDim, maxPositions: positionLimit)
        decoderWorkspace = M2M100Workspace(
            dModel: config.dModel, ffnDim: config.decoderFFNDim, maxPositions: positionLimit)
    }

    /// The matrices `octavo-infer quantize` converts: every attention projection and
    /// feed-forward layer, and the output layer (written as an explicit `lm_head.weight`,
    /// read from the shared embedding when tied).
    public static func quantizableMatrices(config: M2M100Config, checkpoint: Checkpoint) -> [CheckpointQuantizer.Matrix]
    {
        M2M100Tensors(config: config, checkpoint: checkpoint).quantizableMatrices(in: checkpoint)
    }

    // MARK: - Seq2SeqModel

    public var vocabularySize: Int { config.vocabSize }
    public var maxSourcePositions: Int { positionLimit }
    public var maxTargetPositions: Int { positionLimit }

    public func encode(_ sources: [[Int]]) throws -> [EncodedSource] {
        lock.lock()
        defer { lock.unlock() }
        let rows = try validate(sources)
        guard rows > 0 else { return [] }
        let ws = encoderWorkspace
        ws.reserve(rows: rows)
        encoder.forward(sources, rows: rows, workspace: ws)

        // Cross-attention keys and values of every decoder layer, computed here once
        // per source (transformers computes them at the first decoder step and caches them).
        let c = config.dModel
        let memories = sources.map {
            KVCache(
                layers: config.decoderLayers, heads: config.decoderAttentionHeads, headDim: config.decoderHeadDim,
                capacity: $0.count,
                precision: cachePrecision)
        }
        let hidden = ws.x.pointer
        let k = ws.k.mutablePointer
        let v = ws.v.mutablePointer
        for (l, layer) in decoder.layers.enumerated() {
            layer.encoderAttn.kProj(out: k, input: hidden, rows: rows)  // [rows, C]
            layer.encoderAttn.vProj(out: v, input: hidden, rows: rows)
            var start = 0
            for (s, source) in sources.enumerated() {
                for j in 0..<source.count {
                    memories[s].store(layer: l, position: j, key: k + (start + j) * c, value: v + (start + j) * c)
                }
                start += source.count
            }
        }
        return zip(sources, memories).map { source, memory in
            memory.advance(by: source.count)
            return EncodedSource(tokenCount: source.count, crossAttention: memory)
        }
    }

    public func makeTargetCache(capacity: Int) -> KVCache {
        KVCache(
            layers: config.decoderLayers, heads: config.decoderAttentionHeads, headDim: config.decoderHeadDim,
            capacity: max(1, min(capacity, positionLimit)), precision: cachePrecision)
    }

    public func decode(_ steps: [Seq2SeqStep], logits: UnsafeMutablePointer<Float>?, vocabulary: OutputVocabulary?)
        throws
    {
        lock.lock()
        defer { lock.unlock() }
        guard !steps.isEmpty else { return }
        try validate(steps)
        if let tokens = vocabulary?.tokens, let first = tokens.first, let last = tokens.last,
            first < 0 || last >= config.vocabSize
        {
            throw M2M100Error.tokenOutOfRange(id: first < 0 ? first : last, vocabularySize: config.vocabSize)
        }
        let ws = decoderWorkspace
        ws.reserve(rows: steps.count)
        decoder.step(steps, workspace: ws)
        lastStepRows = steps.count
        guard let logits else { return }
        try scoreLocked(rows: 0..<steps.count, logits: logits, vocabulary: vocabulary)
    }

    public func score(rows: Range<Int>, logits: UnsafeMutablePointer<Float>, vocabulary: OutputVocabulary?) throws {
        lock.lock()
        defer { lock.unlock() }
        try scoreLocked(rows: rows, logits: logits, vocabulary: vocabulary)
    }

    private func scoreLocked(rows: Range<Int>, logits: UnsafeMutablePointer<Float>, vocabulary: OutputVocabulary?)
        throws
    {
        guard rows.lowerBound >= 0 && rows.upperBound <= lastStepRows else {
            throw M2M100Error.rowsNotDecoded(rows: rows, decoded: lastStepRows)
        }
        guard !rows.isEmpty else { return }
        let input = decoderWorkspace.normed.pointer + rows.lowerBound * config.dModel
        if let vocabulary {
            try outputLayer(out: logits, input: input, rows: rows.count, restrictedTo: vocabulary.tokens)
        } else {
            outputLayer(out: logits, input: input, rows: rows.count)  // [rows, vocab]
        }
    }

    // MARK: - Beyond generation

    /// The encoder's `last_hidden_state` of each source, [tokens · d_model] row-major
    /// (parity tests, diagnostics).
    public func encoderHiddenStates(_ sources: [[Int]]) throws -> [[Float]] {
        lock.lock()
        defer { lock.unlock() }
        let rows = try validate(sources)
        guard rows > 0 else { return [] }
        encoderWorkspace.reserve(rows: rows)
        encoder.forward(sources, rows: rows, workspace: encoderWorkspace)
        var start = 0
        return sources.map { source in
            let c = config.dModel
            let rows = Array(
                UnsafeBufferPointer(start: encoderWorkspace.x.pointer + start * c, count: source.count * c))
            start += source.count
            return rows
        }
    }

    /// Number of weights, the shared embedding counted once however many of its
    /// tied names the checkpoint stores it under.
    public var parameterCount: Int {
        checkpoint.tensorNames.reduce(0) { total, name in
            embeddingCopies.contains(name) ? total : total + (checkpoint.info(name)?.elementCount ?? 0)
        }
    }

    // MARK: - Validation

    /// Checks every source before any work; returns the total token count.
    private func validate(_ sources: [[Int]]) throws -> Int {
        var rows = 0
        for (index, source) in sources.enumerated() {
            guard !source.isEmpty else { throw M2M100Error.emptySource(index: index) }
            guard source.count <= positionLimit else {
                throw M2M100Error.sourceTooLong(index: index, tokens: source.count, maxPositions: positionLimit)
            }
            if let bad = source.first(where: { $0 < 0 || $0 >= config.vocabSize }) {
                throw M2M100Error.tokenOutOfRange(id: bad, vocabularySize: config.vocabSize)
            }
            rows += source.count
        }
        return rows
    }

    private func validate(_ steps: [Seq2SeqStep]) throws {
        for step in steps {
            guard step.token >= 0 && step.token < config.vocabSize else {
                throw M2M100Error.tokenOutOfRange(id: step.token, vocabularySize: config.vocabSize)
            }
            let target = step.target
            try checkShape(of: target, "target")
            try checkShape(of: step.source.crossAttention, "source")
            let position = target.length + step.offset
            guard step.offset >= 0 && position < positionLimit else {
                throw M2M100Error.targetTooLong(position: position, maxPositions: positionLimit)
            }
            guard position < target.capacity else {
                throw M2M100Error.cacheFull(position: position, capacity: target.capacity)
            }
        }
    }

    private func checkShape(of cache: KVCache, _ name: String) throws {
        guard
            cache.layers == config.decoderLayers && cache.heads == config.decoderAttentionHeads
                && cache.headDim == config.decoderHeadDim
        else {
            throw M2M100Error.foreignCache(
                reason: "the \(name) cache is \(cache.layers) layers × \(cache.heads) "
                    + "heads × \(cache.headDim), the decoder's \(config.decoderLayers) × "
                    + "\(config.decoderAttentionHeads) × \(config.decoderHeadDim)")
        }
    }
}
