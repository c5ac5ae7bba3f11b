import Kernels
/// Element types of stored tensors.
///
/// Compute is always fp32; the half-precision types are widened (exactly) when
/// loaded, and `i8` holds per-row quantized weights written by `octavo-infer quantize` (with
/// each row's sum as `i32`).
public enum DType: String, Sendable, CaseIterable {
    case f32 = "F32"
    case f16 = "F16"
    case bf16 = "BF16"
    case i8 = "I8"
    case i32 = "I32"

    /// Bytes per element.
    public var size: Int {
        switch self {
        case .f32: return 4
        case .f16, .bf16: return 2
        case .i8: return 1
        case .i32: return 4
        }
    }
}
