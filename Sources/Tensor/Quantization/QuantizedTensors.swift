import Kernels

/// How quantized matrices are stored in a safetensors file written by `octavo-infer quantize`:
///
/// - `<name>.weight`: I8 [out, in], with `<name>.weight_scale`: F32 [out] (per-row scales) and
///   `<name>.weight_row_sum`: I32 [out] (Σ of each row, which the VNNI kernel needs; a file
///   written before it was stored has none, and the sums are then computed at load);
/// - or `<name>.weight`: F16 [out, in] in a file whose metadata says
///   `"octavo.layout": "output-major"` (a plain Hugging Face F16 file keeps its own layout).
public enum QuantizedTensors {
    public static let layoutKey = "octavo.layout"
    public static let outputMajor = "output-major"
    public static let scaleSuffix = "_scale"
    public static let rowSumSuffix = "_row_sum"

    /// The precision a folder written by `octavo-infer quantize` stores its matrices in, or nil
    /// for an ordinary float checkpoint. Such a folder is used as stored whatever `--dtype`
    /// asks for, and holds no fp32 copy to compare it with.
    public static func storedPrecision(of checkpoint: Checkpoint) -> WeightPrecision? {
        var precision: WeightPrecision?
        for name in checkpoint.tensorNames {
            switch checkpoint.info(name)?.dtype {
            case .i8: return .int8
            case .f16 where checkpoint.metadata(of: name)[layoutKey] == outputMajor: precision = .f16
            default: continue
            }
        }
        return precision
    }

    /// The stored quantized form of `view`, or nil when it is an ordinary float tensor.
    static func load(_ checkpoint: Checkpoint, view: TensorView, rows: Int, columns: Int) throws -> Linear.Weights? {
        switch view.dtype {
        case .i8:
            guard view.shape == [rows, columns] else {
                throw TensorError.unexpectedShape(tensor: view.name, expected: [rows, columns], got: view.shape)
            }
            let scales = try checkpoint.require(view.name + scaleSuffix).floats(expectedShape: [rows])
            let values = view.bytes.baseAddress!.assumingMemoryBound(to: Int8.self)
            let rowSums = try storedRowSums(checkpoint, of: view.name, rows: rows)
            return .int8(
                Int8Matrix(
                    values: values, scales: scales.pointer, rows: rows, columns: columns,
                    owner: Owners(view.owner, scales, rowSums?.owner ?? view.owner), rowSums: rowSums?.pointer))
        case .f16 where checkpoint.metadata(of: view.name)[layoutKey] == outputMajor:
            guard view.shape == [rows, columns] else {
                throw TensorError.unexpectedShape(tensor: view.name, expected: [rows, columns], got: view.shape)
            }
            guard let base = view.bytes.baseAddress, Int(bitPattern: base) % 2 == 0 else { return nil }
            return .float16(
                HalfMatrix(
                    values: base.assumingMemoryBound(to: UInt16.self), rows: rows, columns: columns, owner: view.owner))
        default:
            return nil
        }
    }

    /// The row sums stored next to an int8 matrix, still in the file's mapping (copied when a
    /// file written elsewhere left them unaligned), with what keeps them alive; nil when the file
    /// has none (written before they were stored).
    static func storedRowSums(_ checkpoint: Checkpoint, of name: String, rows: Int) throws -> (
        pointer: UnsafePointer<Int32>, owner: AnyObject
    )? {
        guard let view = checkpoint.view(name + rowSumSuffix) else { return nil }
        guard view.dtype == .i32 else {
            throw TensorError.unexpectedDType(tensor: view.name, expected: DType.i32.rawValue, got: view.dtype.rawValue)
        }
        guard view.shape == [rows] else {
            throw TensorError.unexpectedShape(tensor: view.name, expected: [rows], got: view.shape)
        }
        guard rows > 0, let base = view.bytes.baseAddress else { return nil }
        if Int(bitPattern: base) % MemoryLayout<Int32>.alignment == 0 {
            return (base.assumingMemoryBound(to: Int32.self), view.owner)
        }
        let copy = AlignedCopy(rows)
        UnsafeMutableRawPointer(copy.pointer).copyMemory(from: base, byteCount: 4 * rows)
        return (UnsafePointer(copy.pointer), copy)
    }

    /// Int32s copied out of a mapping, freed with this object.
    final class AlignedCopy {
        let pointer: UnsafeMutablePointer<Int32>
        init(_ count: Int) { pointer = .allocate(capacity: count) }
        deinit { pointer.deallocate() }
    }

    /// Keeps several owners alive together.
    final class Owners {
        let owners: [AnyObject]
        init(_ owners: AnyObject...) { self.owners = owners }
    }
}
