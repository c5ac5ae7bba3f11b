import Foundation
import Kernels
import Tensor

/// `M2M100SinusoidalPositionalEmbedding`: a fixed table, computed at load exactly
/// as transformers computes it (float32, tensor2tensor layout: all sines, then all
/// cosines), with fairseq's offset of 2 and the padding row zeroed.
///
/// Position ids follow `create_position_ids_from_input_ids`: a non-pad token's id
/// is its count among the non-pad tokens (1-based, plus the past length in the
/// decoder) + padding_idx; a pad token gets padding_idx, the zero row.
struct M2M100SinusoidalPositions {
    /// [max_position_embeddings + 2, d_model]. transformers grows its table on
    /// demand; this one does not, and callers refuse inputs that would need more.
    let table: FloatBuffer
    let rows: Int
    let dimension: Int
    let paddingIndex: Int

    init(maxPositions: Int, dimension: Int, paddingIndex: Int) {
        let offset = 2
        rows = maxPositions + offset
        self.dimension = dimension
        self.paddingIndex = paddingIndex
        table = FloatBuffer(count: rows * dimension)
        let out = table.mutablePointer
        let half = dimension / 2
        // emb = math.log(10000) / (half_dim - 1) in double; exp(arange(half) * -emb) in float32.
        let step = Float(-(log(10000.0) / Double(half - 1)))
        let frequencies = (0..<half).map { expf(Float($0) * step) }
        for position in 0..<rows {
            let row = out + position * dimension
            for i in 0..<half {
                let angle = Float(position) * frequencies[i]
                row[i] = sinf(angle)
                row[half + i] = cosf(angle)
            }
            // An odd d_model gets a zero last column (already zero).
        }
        if paddingIndex >= 0 && paddingIndex < rows {
            (out + paddingIndex * dimension).update(repeating: 0, count: dimension)
        }
    }

    /// Largest position id the table holds.
    var maxPositionID: Int { rows - 1 }

    @inline(__always)
    func row(_ positionID: Int) -> UnsafePointer<Float> {
        table.pointer + positionID * dimension
    }
}
