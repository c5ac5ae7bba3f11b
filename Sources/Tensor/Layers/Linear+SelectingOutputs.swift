import Kernels

extension Linear {
    /// This layer computing only the output features `outputs`, in that order: output j of the
    /// result is output `outputs[j]` of this layer, computed from a copy of just those weight
    /// rows (and bias entries) in the same precision. What a restricted output layer
    /// (`RestrictedOutputLayer`) reads instead of the whole matrix.
    /// - Throws: `TensorError.invalidOutputs` for an output outside 0..<outFeatures.
    public func selectingOutputs(_ outputs: [Int]) throws -> Linear {
        if let bad = outputs.first(where: { $0 < 0 || $0 >= outFeatures }) {
            throw TensorError.invalidOutputs(reason: "output \(bad) of a layer with \(outFeatures) outputs")
        }
        let selectedBias = bias.map { bias -> FloatBuffer in
            let copy = FloatBuffer(count: outputs.count)
            for (j, o) in outputs.enumerated() { copy.mutablePointer[j] = bias.pointer[o] }
            return copy
        }
        let selected: Weights
        switch weights {
        case .float32(let weight, let layout):
            let rows = FloatBuffer(count: outputs.count * inFeatures)
            let source = weight.pointer
            let destination = rows.mutablePointer
            for (j, o) in outputs.enumerated() {
                switch layout {
                case .outputMajor:
                    (destination + j * inFeatures).update(from: source + o * inFeatures, count: inFeatures)
                case .inputMajor:
                    for k in 0..<inFeatures { destination[j * inFeatures + k] = source[k * outFeatures + o] }
                }
            }
            withExtendedLifetime(weight) {}
            selected = .float32(rows, .outputMajor)
        case .float16(let matrix):
            selected = .float16(HalfMatrix(selectingRows: outputs, of: matrix))
        case .int8(let matrix):
            selected = .int8(Int8Matrix(selectingRows: outputs, of: matrix))
        }
        return Linear(weights: selected, bias: selectedBias, inFeatures: inFeatures, outFeatures: outputs.count)
    }
}
