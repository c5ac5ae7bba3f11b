import Kernels
import Tensor

/// Activation memory for an encoder pass or a decoder step of up to `rows` rows
/// (source tokens, or target sequences). Grown, never shrunk, so a steady decode
/// loop allocates nothing.
final class M2M100Workspace {
    private(set) var rows = 0
    /// Residual stream [rows, d_model].
    private(set) var x = FloatBuffer(count: 0)
    /// Normalized input of the current sub-layer [rows, d_model].
    private(set) var normed = FloatBuffer(count: 0)
    /// Query, key, value projections [rows, d_model] each.
    private(set) var q = FloatBuffer(count: 0)
    private(set) var k = FloatBuffer(count: 0)
    private(set) var v = FloatBuffer(count: 0)
    /// Attention output, heads concatenated [rows, d_model].
    private(set) var attended = FloatBuffer(count: 0)
    /// Feed-forward activations [rows, ffn_dim].
    private(set) var hidden = FloatBuffer(count: 0)
    /// Attention scores of one head over at most every position, one row of
    /// `scoresPerThread` = max_position_embeddings + 2 floats per compute thread.
    private(set) var scores = FloatBuffer(count: 0)
    let scoresPerThread: Int
    private var scoreThreads = 0

    private let dModel: Int
    private let ffnDim: Int

    init(dModel: Int, ffnDim: Int, maxPositions: Int) {
        self.dModel = dModel
        self.ffnDim = ffnDim
        scoresPerThread = maxPositions + 2
    }

    func reserve(rows needed: Int) {
        let threads = ComputePool.shared.threadCount
        if threads > scoreThreads {
            scores = FloatBuffer(count: scoresPerThread * threads)
            scoreThreads = threads
        }
        guard needed > rows else { return }
        x = FloatBuffer(count: needed * dModel)
        normed = FloatBuffer(count: needed * dModel)
        q = FloatBuffer(count: needed * dModel)
        k = FloatBuffer(count: needed * dModel)
        v = FloatBuffer(count: needed * dModel)
        attended = FloatBuffer(count: needed * dModel)
        hidden = FloatBuffer(count: needed * ffnDim)
        rows = needed
    }
}
