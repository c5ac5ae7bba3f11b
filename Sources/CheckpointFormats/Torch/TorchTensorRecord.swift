/// One tensor of a PyTorch checkpoint: its layout over a storage, and where that storage's
/// bytes are in the file. Everything here has been checked against the file.
public struct TorchTensorRecord: Sendable, Equatable {
    public let name: String
    public let dtype: TorchDType
    public let shape: [Int]
    /// In elements, as torch counts them.
    public let strides: [Int]
    /// In elements from the start of the storage.
    public let storageOffset: Int
    public let storageKey: String
    /// The whole storage's bytes, as a range of the file.
    public let storageRange: Range<Int>

    public var elementCount: Int { shape.reduce(1, *) }

    /// True when the elements are laid out row-major with no gaps, so the tensor is one byte
    /// range of the storage (`contiguousRange`).
    public var isContiguous: Bool {
        var expected = 1
        for (size, stride) in zip(shape, strides).reversed() where size != 1 {
            if stride != expected { return false }
            expected *= size
        }
        return true
    }

    /// The tensor's bytes in the file when it is contiguous.
    public var contiguousRange: Range<Int>? {
        guard isContiguous else { return nil }
        let start = storageRange.lowerBound + storageOffset * dtype.size
        return start..<(start + elementCount * dtype.size)
    }

    /// Copies the tensor's elements, in row-major order, out of `file` (the bytes the record
    /// was read from) into `out`, which must hold `elementCount * dtype.size` bytes. This is
    /// how a transposed or otherwise strided tensor is made contiguous.
    public func copyContiguous(from file: UnsafeRawBufferPointer, into out: UnsafeMutableRawBufferPointer) {
        let size = dtype.size
        precondition(out.count == elementCount * size && storageRange.upperBound <= file.count)
        guard elementCount > 0, let source = file.baseAddress, let target = out.baseAddress else { return }
        let base = source + storageRange.lowerBound
        var index = [Int](repeating: 0, count: shape.count)
        var element = storageOffset
        for written in 0..<elementCount {
            (target + written * size).copyMemory(from: base + element * size, byteCount: size)
            // Advance the multi-index like an odometer, keeping `element` in step.
            var axis = shape.count - 1
            while axis >= 0 {
                index[axis] += 1
                element += strides[axis]
                if index[axis] < shape[axis] { break }
                element -= strides[axis] * shape[axis]
                index[axis] = 0
                axis -= 1
            }
        }
    }
}
