/// Element types of stored tensors: every dtype the safetensors format (library 0.8.0) names.
///
/// A file holding any of them opens, so its layout is checked like the reference checks it.
/// Compute is always fp32: F32 is used as stored, F16 and BF16 are widened exactly, and `i8`
/// holds per-row quantized weights written by `octavo-infer quantize` (with each row's sum as
/// `i32`), `u8` its packed 4-bit weights and zero points (`QuantizedTensors`). A tensor the model needs in any other dtype is refused (`TensorError.unsupportedDType`).
public enum DType: String, Sendable, CaseIterable {
    case bool = "BOOL"
    case f4 = "F4"
    case f6E2M3 = "F6_E2M3"
    case f6E3M2 = "F6_E3M2"
    case u8 = "U8"
    case i8 = "I8"
    case f8E5M2 = "F8_E5M2"
    case f8E4M3 = "F8_E4M3"
    case f8E8M0 = "F8_E8M0"
    case f8E4M3FNUZ = "F8_E4M3FNUZ"
    case f8E5M2FNUZ = "F8_E5M2FNUZ"
    case i16 = "I16"
    case u16 = "U16"
    case f16 = "F16"
    case bf16 = "BF16"
    case i32 = "I32"
    case u32 = "U32"
    case f32 = "F32"
    case c64 = "C64"
    case f64 = "F64"
    case i64 = "I64"
    case u64 = "U64"

    /// Bits per element (F4 and F6 pack several elements per byte).
    public var bitSize: Int {
        switch self {
        case .f4: return 4
        case .f6E2M3, .f6E3M2: return 6
        case .bool, .u8, .i8, .f8E5M2, .f8E4M3, .f8E8M0, .f8E4M3FNUZ, .f8E5M2FNUZ: return 8
        case .i16, .u16, .f16, .bf16: return 16
        case .i32, .u32, .f32: return 32
        case .c64, .f64, .i64, .u64: return 64
        }
    }

    /// Bytes taken by `elements` values, or nil when that overflows or does not end on a byte
    /// boundary (an odd number of F4 values, say).
    public func byteCount(elements: Int) -> Int? {
        let (bits, overflow) = elements.multipliedReportingOverflow(by: bitSize)
        guard !overflow, bits % 8 == 0 else { return nil }
        return bits / 8
    }

    /// Whether `TensorView.floats()` can turn this dtype into fp32 exactly.
    public var widensToFloat32: Bool { self == .f32 || self == .f16 || self == .bf16 }
}
