import Kernels
import Tensor

/// Activation memory for a forward pass of up to `rows` tokens across up to
/// `sequences` sequences. Grown (never shrunk) when a larger batch arrives, so a
/// steady decode loop allocates nothing.
final class GPT2Workspace {
    private(set) var rows = 0
    private(set) var sequences = 0
    /// Residual stream [rows, n_embd].
    private(set) var x = FloatBuffer(count: 0)
    /// Normalized input of the current sub-layer [rows, n_embd].
    private(set) var normed = FloatBuffer(count: 0)
    /// q, k, v of each row [rows, 3·n_embd].
    private(set) var qkv = FloatBuffer(count: 0)
    /// Attention output, heads concatenated [rows, n_embd].
    private(set) var attended = FloatBuffer(count: 0)
    /// MLP hidden activations [rows, n_inner].
    private(set) var hidden = FloatBuffer(count: 0)
    /// Final-normed rows that get logits: each sequence's last, or all of a verify step's [logitsRows, n_embd].
    private(set) var lastRows = FloatBuffer(count: 0)
    /// Attention scores of one head over the cache, one [n_positions] row per compute thread.
    private(set) var scores = FloatBuffer(count: 0)
    private var scoreThreads = 0
    /// Which step and position each row belongs to.
    var rowStep: [Int] = []
    var rowPosition: [Int] = []

    private let config: GPT2Config

    init(config: GPT2Config) {
        self.config = config
    }

    func reserve(rows needed: Int, sequences neededSequences: Int) {
        if needed > rows {
            let c = config.nEmbd
            x = FloatBuffer(count: needed * c)
            normed = FloatBuffer(count: needed * c)
            qkv = FloatBuffer(count: needed * 3 * c)
            attended = FloatBuffer(count: needed * c)
            hidden = FloatBuffer(count: needed * config.innerDim)
            rowStep = [Int](repeating: 0, count: needed)
            rowPosition = [Int](repeating: 0, count: needed)
            rows = needed
        }
        let threads = ComputePool.shared.threadCount
        if threads > scoreThreads {
            scores = FloatBuffer(count: config.nPositions * threads)
            scoreThreads = threads
        }
        if neededSequences > sequences {
            lastRows = FloatBuffer(count: neededSequences * config.nEmbd)
            sequences = neededSequences
        }
    }
}
