import Foundation

/// `serve`'s default `--max-batch`: the sequences per forward pass past which aggregate
/// tokens/s stops growing, so that more clients queue instead of slowing everyone down.
///
/// A decode step reads every weight once and does one multiply-add per weight per sequence.
/// While the read dominates, another sequence costs almost nothing; once the multiply-adds
/// dominate, tokens/s stays flat and each client only waits longer. That knee moves with
/// the bytes each weight costs to read (int8 1, f16 2, f32 4: the read takes longer, the
/// multiply-adds do not) and with the cores sharing the multiply-adds. A full batch's
/// attention caches must also fit in a quarter of the machine's memory.
public enum ServingBatchSize {
    /// Sequences per core at the knee for one-byte weights, measured with `Benchmarks/load.py`
    /// on GPT-2 int8 (Benchmarks/README.md, "Serving under load").
    public static let sequencesPerCorePerWeightByte = 16
    public static let range = 4...256

    /// - Parameters:
    ///   - bytesPerWeight: 1 for int8 matrices, 2 for f16, 4 for f32.
    ///   - cores: compute threads.
    ///   - cacheBytesPerSequence: keys and values of one sequence at the model's full context.
    ///   - memoryBytes: the machine's physical memory.
    /// - Returns: a power of two in `range`.
    public static func defaultMaxBatch(
        bytesPerWeight: Int, cores: Int, cacheBytesPerSequence: Int,
        memoryBytes: UInt64
    ) -> Int {
        let knee = sequencesPerCorePerWeightByte * max(1, cores) * max(1, bytesPerWeight)
        let fits = Int(min(memoryBytes / 4 / UInt64(max(1, cacheBytesPerSequence)), UInt64(range.upperBound)))
        let batch = min(max(min(knee, fits), range.lowerBound), range.upperBound)
        return 1 << (Int.bitWidth - 1 - batch.leadingZeroBitCount)  // the power of two at or below
    }
}
