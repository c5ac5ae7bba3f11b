import Kernels

/// How quantized matrices are stored in a safetensors file written by `octavo-infer quantize`:
///
/// - `<name>.weight`: I8 [out, in], with `<name>.weight_scale`: F32 [out] (per-row scales) and
///   `<name>.weight_row_sum`: I32 [out] (Σ of each row, which the VNNI kernel needs; a file
///   written before it was stored has none, and the sums are then computed at load);
/// - or `<name>.weight`: U8 [out, P / 2] (q4: `Q4Matrix`'s packing, P = in rounded up to a
///   multiple of 64) with `<name>.weight_scale`: F16 [out, P / G] (one scale per group of G = 32
///   or 64 columns, G read from this shape) and, for groups with a zero point,
///   `<name>.weight_zero_point`: U8 [out, P / G] (values 0...15; absent: symmetric, all 8);
/// - or `<name>.weight`: F16 [out, in] in a file whose metadata says
///   `"octavo.layout": "output-major"` (a plain Hugging Face F16 file keeps its own layout).
///
/// U8 and F16 matrices are read this way only in a file whose metadata says
/// `"octavo.layout": "output-major"`.
public enum QuantizedTensors {
    public static let layoutKey = "octavo.layout"
    public static let outputMajor = "output-major"
    public static let scaleSuffix = "_scale"
    public static let rowSumSuffix = "_row_sum"
    public static let zeroPointSuffix = "_zero_point"

    /// The precision a folder written by `octavo-infer quantize` stores its matrices in, or nil
    /// for an ordinary float checkpoint. Such a folder is used as stored whatever `--dtype`
    /// asks for, and holds no fp32 copy to compare it with.
    public static func storedPrecision(of checkpoint: Checkpoint) -> WeightPrecision? {
        var precision: WeightPrecision?
        for name in checkpoint.tensorNames {
            switch checkpoint.info(name)?.dtype {
            case .i8: return .int8
            case .u8 where checkpoint.metadata(of: name)[layoutKey] == outputMajor: return .q4
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
        case .u8 where checkpoint.metadata(of: view.name)[layoutKey] == outputMajor:
            return .q4(try loadQ4(checkpoint, view: view, rows: rows, columns: columns))
        default:
            return nil
        }
    }

    /// A q4 matrix and its scales (and zero points), checked against each other and against
    /// the layer's shape, still in the file's mapping (scales copied when left unaligned).
    static func loadQ4(_ checkpoint: Checkpoint, view: TensorView, rows: Int, columns: Int) throws -> Q4Matrix {
        let padded = Q4Matrix.paddedColumns(columns)
        guard view.shape == [rows, padded / 2] else {
            throw TensorError.unexpectedShape(tensor: view.name, expected: [rows, padded / 2], got: view.shape)
        }
        let scaleView = try checkpoint.require(view.name + scaleSuffix)
        guard scaleView.dtype == .f16 else {
            throw TensorError.unexpectedDType(
                tensor: scaleView.name, expected: DType.f16.rawValue, got: scaleView.dtype.rawValue)
        }
        let shapes = Q4Format.supportedGroupSizes.map { [rows, padded / $0] }
        guard let groupSize = Q4Format.supportedGroupSizes.first(where: { scaleView.shape == [rows, padded / $0] })
        else {
            throw TensorError.invalidQuantizedTensor(
                tensor: scaleView.name,
                reason: "shape \(scaleView.shape), but a q4 matrix of \(rows)x\(columns) has one scale per group: "
                    + "\(shapes[0]) "
                    + "(groups of 32) or \(shapes[1]) (groups of 64)")
        }
        let groups = padded / groupSize
        var owners: [AnyObject] = [view.owner]
        let scales = try aligned(scaleView, as: UInt16.self, count: rows * groups, owners: &owners)
        var zeroPoints: UnsafePointer<UInt8>?
        if let zeroView = checkpoint.view(view.name + zeroPointSuffix) {
            guard zeroView.dtype == .u8 else {
                throw TensorError.unexpectedDType(
                    tensor: zeroView.name, expected: DType.u8.rawValue, got: zeroView.dtype.rawValue)
            }
            guard zeroView.shape == scaleView.shape else {
                throw TensorError.unexpectedShape(tensor: zeroView.name, expected: scaleView.shape, got: zeroView.shape)
            }
            let values = try aligned(zeroView, as: UInt8.self, count: rows * groups, owners: &owners)
            if let bad = (0..<(rows * groups)).first(where: { values[$0] > 15 }) {
                throw TensorError.invalidQuantizedTensor(
                    tensor: zeroView.name,
                    reason: "zero point \(values[bad]) at index \(bad), but 4-bit zero "
                        + "points are 0...15")
            }
            zeroPoints = values
        }
        let packed = try aligned(view, as: UInt8.self, count: rows * padded / 2, owners: &owners)
        return Q4Matrix(
            packed: packed, scales: scales, zeroPoints: zeroPoints, rows: rows, columns: columns,
            groupSize: groupSize, owner: Owners(owners))
    }

    /// `count` elements of `view`'s bytes as `T`: in place when aligned, else copied (the copy
    /// joins `owners`).
    private static func aligned<T>(
        _ view: TensorView, as: T.Type, count: Int,
        owners: inout [AnyObject]
    ) throws -> UnsafePointer<T> {
        guard view.bytes.count == count * MemoryLayout<T>.stride else {
            throw TensorError.invalidQuantizedTensor(
                tensor: view.name, reason: "\(view.bytes.count) bytes where \(count) values were expected")
        }
        let copy = RawCopy(view.bytes, alignment: MemoryLayout<T>.alignment)
        owners.append(copy.owner)
        return copy.pointer.assumingMemoryBound(to: T.self)
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
        init(_ owners: [AnyObject]) { self.owners = owners }
    }

    /// Bytes read in place when their address suits the alignment, copied to aligned memory otherwise.
    struct RawCopy {
        let pointer: UnsafeRawPointer
        let owner: AnyObject

        init(_ bytes: UnsafeRawBufferPointer, alignment: Int) {
            if let base = bytes.baseAddress, Int(bitPattern: base) % alignment == 0 {
                pointer = base
                owner = Owners()
                return
            }
            let memory = UnsafeMutableRawPointer.allocate(byteCount: max(1, bytes.count), alignment: max(alignment, 16))
            if let base = bytes.baseAddress { memory.copyMemory(from: base, byteCount: bytes.count) }
            pointer = UnsafeRawPointer(memory)
            owner = RawMemory(memory)
        }
    }

    final class RawMemory {
        let pointer: UnsafeMutableRawPointer
        init(_ pointer: UnsafeMutableRawPointer) { self.pointer = pointer }
        deinit { pointer.deallocate() }
    }
}
