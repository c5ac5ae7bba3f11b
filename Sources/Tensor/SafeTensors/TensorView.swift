import Kernels

/// A stored tensor's bytes, still in the file's mapping, with its dtype and shape.
///
/// Sendable by hand: an immutable view into a mapped file that the checkpoint keeps alive.
public struct TensorView: @unchecked Sendable {
    public let info: TensorInfo
    public let bytes: UnsafeRawBufferPointer
    /// Keeps the mapping alive while the view (or anything borrowing its bytes) lives.
    public let owner: AnyObject
    /// The file the tensor came from, for error messages.
    public let source: String

    public var name: String { info.name }
    public var dtype: DType { info.dtype }
    public var shape: [Int] { info.shape }
    public var elementCount: Int { info.elementCount }

    /// The tensor as fp32, with no copy when it is stored as aligned F32 (the common
    /// case), otherwise widened exactly into a new buffer. The shape is checked first.
    public func floats(expectedShape: [Int]? = nil) throws -> FloatBuffer {
        if let expectedShape, expectedShape != shape {
            throw TensorError.unexpectedShape(tensor: name, expected: expectedShape, got: shape)
        }
        switch dtype {
        case .f32:
            if let base = bytes.baseAddress, Int(bitPattern: base) % MemoryLayout<Float>.alignment == 0 {
                return FloatBuffer(
                    borrowing: base.assumingMemoryBound(to: Float.self), count: elementCount, owner: owner)
            }
            // A misaligned F32 tensor (possible after odd-sized F16 tensors) is copied once.
            let buffer = FloatBuffer(count: elementCount)
            if elementCount > 0 {
                UnsafeMutableRawPointer(buffer.mutablePointer).copyMemory(
                    from: bytes.baseAddress!, byteCount: bytes.count)
            }
            return buffer
        case .f16:
            let buffer = FloatBuffer(count: elementCount)
            widenFloat16(out: buffer.mutablePointer, input: bytes, count: elementCount)
            return buffer
        case .bf16:
            let buffer = FloatBuffer(count: elementCount)
            widenBFloat16(out: buffer.mutablePointer, input: bytes, count: elementCount)
            return buffer
        default:
            throw TensorError.unsupportedDType(path: source, tensor: name, dtype: dtype.rawValue)
        }
    }
}
