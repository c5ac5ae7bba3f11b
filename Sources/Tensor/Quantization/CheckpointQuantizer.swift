import Foundation
import Kernels

/// Rewrites a checkpoint with its linear layers stored quantized, in the layout
/// the loaders read directly (see `QuantizedTensors`): every other tensor is
/// kept as F32 (widened when stored in half precision).
public struct CheckpointQuantizer {
    /// A matrix to convert: its checkpoint name, how the architecture stores it, and its size.
    public struct Matrix {
        public let name: String
        public let layout: WeightLayout
        public let inFeatures: Int
        public let outFeatures: Int
        /// The tensor to read the floats from, when it differs from `name` (a tied output
        /// layer written as its own `lm_head.weight`).
        public let source: String?

        public init(name: String, layout: WeightLayout, inFeatures: Int, outFeatures: Int, source: String? = nil) {
            self.name = name
            self.layout = layout
            self.inFeatures = inFeatures
            self.outFeatures = outFeatures
            self.source = source
        }
    }

    public let checkpoint: Checkpoint
    public let matrices: [Matrix]
    public let precision: WeightPrecision

    public init(checkpoint: Checkpoint, matrices: [Matrix], precision: WeightPrecision) {
        self.checkpoint = checkpoint
        self.matrices = matrices
        self.precision = precision
    }

    /// The tensors of the quantized file, in name order.
    public func entries() throws -> [SafeTensorsWriter.Entry] {
        precondition(precision != .f32, "quantizing to f32 is a copy")
        let converted = Dictionary(uniqueKeysWithValues: matrices.map { ($0.name, $0) })
        var entries: [SafeTensorsWriter.Entry] = []
        var names = Set(checkpoint.tensorNames)
        for matrix in matrices { names.insert(matrix.name) }
        for name in names.sorted() {
            if let matrix = converted[name] {
                entries += try convert(matrix)
                continue
            }
            let view = try checkpoint.require(name)
            let floats = try view.floats()
            entries.append(
                withExtendedLifetime(floats) {
                    SafeTensorsWriter.Entry(name: name, shape: view.shape, floats: floats.buffer)
                })
        }
        return entries
    }

    /// Metadata the loaders look for.
    public var metadata: [String: String] {
        [
            "format": "pt", QuantizedTensors.layoutKey: QuantizedTensors.outputMajor,
            "octavo.precision": precision.rawValue,
        ]
    }

    private func convert(_ matrix: Matrix) throws -> [SafeTensorsWriter.Entry] {
        let shape =
            matrix.layout == .inputMajor
            ? [matrix.inFeatures, matrix.outFeatures] : [matrix.outFeatures, matrix.inFeatures]
        let floats = try checkpoint.require(matrix.source ?? matrix.name).floats(expectedShape: shape)
        return withExtendedLifetime(floats) {
            switch precision {
            case .int8:
                let q = Int8Matrix(
                    quantizing: floats.pointer, inFeatures: matrix.inFeatures, outFeatures: matrix.outFeatures,
                    layout: matrix.layout)
                return [
                    SafeTensorsWriter.Entry(
                        name: matrix.name, dtype: .i8, shape: [matrix.outFeatures, matrix.inFeatures],
                        data: Data(bytes: q.values, count: q.rows * q.columns)),
                    SafeTensorsWriter.Entry(
                        name: matrix.name + QuantizedTensors.scaleSuffix, dtype: .f32, shape: [matrix.outFeatures],
                        data: Data(bytes: q.scales, count: q.rows * 4)),
                    SafeTensorsWriter.Entry(
                        name: matrix.name + QuantizedTensors.rowSumSuffix, dtype: .i32, shape: [matrix.outFeatures],
                        data: Data(bytes: q.rowSums, count: q.rows * 4)),
                ]
            case .f16:
                let h = HalfMatrix(
                    converting: floats.pointer, inFeatures: matrix.inFeatures, outFeatures: matrix.outFeatures,
                    layout: matrix.layout)
                return [
                    SafeTensorsWriter.Entry(
                        name: matrix.name, dtype: .f16, shape: [matrix.outFeatures, matrix.inFeatures],
                        data: Data(bytes: h.values, count: h.byteCount))
                ]
            case .f32:
                return []
            }
        }
    }
}
