import Kernels

/// How a model keeps its matrices in memory, chosen at load (`--dtype`).
///
/// Compute stays fp32 in every case: f16 weights are widened as they are read,
/// int8 and q4 products are accumulated in integers and scaled back.
public enum WeightPrecision: String, Sendable, CaseIterable, Codable {
    /// As stored in the checkpoint (F32 memory-mapped, F16/BF16 widened once at load).
    case f32
    /// IEEE half precision, half the bytes to read per token.
    case f16
    /// Symmetric int8 per output row (CTranslate2's scheme), a quarter of the bytes.
    case int8
    /// 4 bits per weight in groups of 32 input features, each group with an f16 scale
    /// (`Q4Format.standard`): about a seventh of the bytes of f32.
    case q4
}
