import Foundation
import Generation
import Kernels
import Tensor

/// GPT-2 (Radford et al. 2019) as `GPT2LMHeadModel` computes it, over weights
/// memory-mapped from a Hugging Face folder.
///
///     x = wte[tokens] + wpe[positions]          [rows, n_embd]
///     for block in h: x = block(x)              pre-norm attention + MLP
///     logits = ln_f(x_last) · wteᵀ              [sequences, vocab]
///
/// Sendable by hand: the weights are immutable after load; the workspace is driven by one executor thread at
/// a time, as `CausalLanguageModel` requires.
public final class GPT2Model: CausalLanguageModel, @unchecked Sendable {
    public let config: GPT2Config
    public let checkpoint: Checkpoint
    /// The checkpoint's tensors, by the names it stores them under.
    public let tensors: GPT2Tensors
    /// "wte": [vocab, n_embd].
    let wte: Embedding
    /// "wpe": [n_positions, n_embd].
    let wpe: Embedding
    /// "h.0" ... "h.{n_layer-1}".
    let h: [GPT2Block]
    /// "ln_f".
    let lnF: LayerNormLayer
    /// The output layer [vocab, n_embd]: wte itself when tied, else "lm_head".
    let lmHead: OutputLayer
    let activation: Activation

    private let workspace: GPT2Workspace
    private let lock = NSLock()

    /// The precision the matrices were loaded at.
    public let precision: WeightPrecision
    /// What the caches `makeCache` hands out keep keys and values as.
    public let cachePrecision: KVCachePrecision

    /// Loads config.json and the weights of a Hugging Face GPT-2 folder, keeping the
    /// matrices at `precision` (f32: as stored, memory-mapped when F32) and the KV caches
    /// at `cachePrecision`.
    public convenience init(directory: URL, precision: WeightPrecision = .f32, cachePrecision: KVCachePrecision = .f32)
        throws
    {
        let config = try GPT2Config.load(directory: directory)
        try self.init(
            config: config, checkpoint: Checkpoint(directory: directory), precision: precision,
            cachePrecision: cachePrecision)
    }

    /// Builds the model from a config and weights stored under either naming:
    /// `transformer.h.0...` (transformers' save_pretrained) or `h.0...` (the
    /// original openai-community files, whose `attn.bias` buffers are ignored).
    ///
    /// A file written by `octavo-infer quantize` carries its quantized matrices
    /// (including an explicit quantized `lm_head.weight`) and is used as stored.
    public init(
        config: GPT2Config, checkpoint: Checkpoint, precision: WeightPrecision = .f32,
        cachePrecision: KVCachePrecision = .f32
    ) throws {
        try config.validate()
        self.config = config
        self.checkpoint = checkpoint
        self.precision = precision
        self.cachePrecision = cachePrecision
        let tensors = GPT2Tensors(config: config, checkpoint: checkpoint)
        self.tensors = tensors
        wte = try Embedding(checkpoint, tensors.wte)
        wpe = try Embedding(checkpoint, tensors.wpe)
        h = try tensors.blocks.enumerated().map { layer, block in
            try GPT2Block(checkpoint, block, layer: layer, config, precision: precision)
        }
        lnF = try LayerNormLayer(checkpoint, tensors.lnF, epsilon: config.layerNormEpsilon)
        lmHead = try OutputLayer(checkpoint, tensors.output, embedding: wte, precision: precision)
        activation = config.activation!
        workspace = GPT2Workspace(config: config)
    }

    public var vocabularySize: Int { config.vocabSize }
    public var maxPositions: Int { config.nPositions }
    public var writesLogitsForEveryToken: Bool { true }

    public func makeCache(capacity: Int) -> KVCache {
        KVCache(
            layers: config.nLayer, heads: config.nHead, headDim: config.headDim,
            capacity: max(1, min(capacity, config.nPositions)),
            precision: cachePrecision)
    }

    public func forward(_ steps: [SequenceStep], logits: UnsafeMutablePointer<Float>) throws {
        lock.lock()
        defer { lock.unlock() }
        var rows = 0
        var logitsRows = 0
        for step in steps {
            guard !step.tokens.isEmpty else { throw GPT2Error.emptyStep }
            let end = step.cache.length + step.tokens.count
            guard end <= step.cache.capacity else {
                throw GPT2Error.cacheFull(position: end - 1, capacity: step.cache.capacity)
            }
            if let bad = step.tokens.first(where: { $0 < 0 || $0 >= config.vocabSize }) {
                throw GPT2Error.tokenOutOfRange(id: bad, vocabularySize: config.vocabSize)
            }
            rows += step.tokens.count
            logitsRows += step.logitsRows
        }
        guard rows > 0 else { return }
        workspace.reserve(rows: rows, sequences: logitsRows)
        forwardRows(steps, rows: rows, logitsRows: logitsRows, logits: logits)
    }

    /// The forward pass proper, in the order of the math.
    private func forwardRows(_ steps: [SequenceStep], rows: Int, logitsRows: Int, logits: UnsafeMutablePointer<Float>) {
        let c = config.nEmbd
        let ws = workspace
        let x = ws.x.mutablePointer
        let normed = ws.normed.mutablePointer
        let qkv = ws.qkv.mutablePointer
        let attended = ws.attended.mutablePointer
        let hidden = ws.hidden.mutablePointer

        // Embeddings: x[r] = wte[token] + wpe[position]                    [rows, C]
        var r = 0
        for (s, step) in steps.enumerated() {
            for (j, token) in step.tokens.enumerated() {
                let position = step.cache.length + j
                ws.rowStep[r] = s
                ws.rowPosition[r] = position
                let row = x + r * c
                row.update(from: wte.row(token), count: c)
                addInPlace(row, wpe.row(position), count: c)
                r += 1
            }
        }

        for (layer, block) in h.enumerated() {
            // Attention sub-layer: x += c_proj(attend(c_attn(ln_1(x))))
            block.ln1(out: normed, input: x, rows: rows)  // [rows, C]
            block.attn.cAttn(out: qkv, input: normed, rows: rows)  // [rows, 3C]
            for r in 0..<rows {
                let row = qkv + r * 3 * c
                steps[ws.rowStep[r]].cache.store(
                    layer: layer, position: ws.rowPosition[r], key: row + c, value: row + 2 * c)
            }
            attendRows(steps, rows: rows, layer: layer, scale: block.attentionScale)  // [rows, C]
            block.attn.cProj(out: x, input: attended, rows: rows, accumulate: true)

            // MLP sub-layer: x += c_proj(act(c_fc(ln_2(x))))
            block.ln2(out: normed, input: x, rows: rows)
            block.mlp.cFc(out: hidden, input: normed, rows: rows)  // [rows, n_inner]
            activation.apply(hidden, count: rows * config.innerDim)
            block.mlp.cProj(out: x, input: hidden, rows: rows, accumulate: true)  // [rows, C]
        }
        for step in steps { step.cache.advance(by: step.tokens.count) }

        // Only each sequence's last row needs logits (every row of a verify step): ln_f, then the output layer.
        let last = ws.lastRows.mutablePointer
        var end = 0
        var written = 0
        for step in steps {
            end += step.tokens.count
            let count = step.logitsRows
            lnF(out: last + written * c, input: x + (end - count) * c, rows: count)  // [logitsRows, C]
            written += count
        }
        lmHead(out: logits, input: last, rows: logitsRows)  // [logitsRows, vocab]
    }

    /// Causal attention of every row over its sequence's cache (positions 0...its own),
    /// one (row, head) pair at a time over the compute threads.
    private func attendRows(_ steps: [SequenceStep], rows: Int, layer: Int, scale: Float) {
        let ws = workspace
        let c = config.nEmbd
        let positions = config.nPositions
        let qkv = ws.qkv.mutablePointer
        let attended = ws.attended.mutablePointer
        let scores = ws.scores.mutablePointer
        let rowStep = ws.rowStep
        let rowPosition = ws.rowPosition
        var multiplyAdds = 0
        for r in 0..<rows { multiplyAdds += 2 * (rowPosition[r] + 1) * c }
        ComputePool.shared.forEachRowAndHead(rows: rows, heads: config.nHead, multiplyAdds: multiplyAdds) { r, h, t in
            let cache = steps[rowStep[r]].cache
            cache.attend(
                layer: layer, out: attended + r * c, query: qkv + r * 3 * c, length: rowPosition[r] + 1,
                heads: h..<(h + 1), scale: scale, scores: scores + t * positions)
        }
    }

    /// The matrices `octavo-infer quantize` converts: every block's Conv1D weights and
    /// the output layer (written as an explicit `lm_head.weight`, read from `wte` when tied).
    public static func quantizableMatrices(config: GPT2Config, checkpoint: Checkpoint) -> [CheckpointQuantizer.Matrix] {
        GPT2Tensors(config: config, checkpoint: checkpoint).quantizableMatrices(in: checkpoint)
    }

    /// Bytes the weights occupy once loaded (mapped or owned).
    public var weightBytes: Int {
        let blocks = h.reduce(0) {
            $0 + $1.attn.cAttn.weightBytes + $1.attn.cProj.weightBytes + $1.mlp.cFc.weightBytes
                + $1.mlp.cProj.weightBytes
        }
        return blocks + wte.table.count * 4 + wpe.table.count * 4 + lmHead.ownWeightBytes
    }

    /// Number of weights (the tied output layer counted once).
    public var parameterCount: Int {
        let buffers = tensors.bufferNames
        return checkpoint.tensorNames.reduce(0) { total, name in
            buffers.contains(name) ? total : total + (checkpoint.info(name)?.elementCount ?? 0)
        }
    }
}
