/// How quantized matrices are stored in a safetensors file written by `octavo-infer quantize`:
///
/// - `<name>.weight`: I8 [out, in], with `<name>.weight_scale`: F32 [out] (per-row scales);
/// - or `<name>.weight`: F16 [out, in] in a file whose metadata says
///   `"octavo.layout": "output-major"` (a plain Hugging Face F16 file keeps its own layout).
public enum QuantizedTensors {
    public static let layoutKey = "octavo.layout"
    public static let outputMajor = "output-major"
    public static let scaleSuffix = "_scale"

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
            return .int8(Int8Matrix(values: values, scales: scales.pointer, rows: rows, columns: columns, owner: Owners(view.owner, scales)))
        case .f16 where checkpoint.metadata(of: view.name)[layoutKey] == outputMajor:
            guard view.shape == [rows, columns] else {
                throw TensorError.unexpectedShape(tensor: view.name, expected: [rows, columns], got: view.shape)
            }
            guard let base = view.bytes.baseAddress, Int(bitPattern: base) % 2 == 0 else { return nil }
            return .float16(HalfMatrix(values: base.assumingMemoryBound(to: UInt16.self), rows: rows, columns: columns, owner: view.owner))
        default:
            return nil
        }
    }

    /// Keeps several owners alive together.
    final class Owners {
        let owners: [AnyObject]
        init(_ owners: AnyObject...) { self.owners = owners }
    }
}
