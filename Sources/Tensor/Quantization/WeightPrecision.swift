import Kernels

/// How a model keeps its matrices in memory, chosen at load (`--dtype`).
///
/// Compute stays fp32 in every case: f16 weights are widened as they are read,
/// int8 products are accumulated in integers and scaled back.
public enum WeightPrecision: String, Sendable, CaseIterable, Codable {
    /// As stored in the checkpoint (F32 memory-mapped, F16/BF16 widened once at load).
    case f32
    /// IEEE half precision, half the bytes to read per token.
    case f16
    /// Symmetric int8 per output row (CTranslate2's scheme), a quarter of the bytes.
    case int8
}
