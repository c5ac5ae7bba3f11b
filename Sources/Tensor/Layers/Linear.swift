import Kernels

/// A linear map y = x·W + b, with W kept in the precision the model was loaded at.
public struct Linear: Sendable {
    /// The weight matrix in one of the stored forms.
    public enum Weights: Sendable {
        /// fp32 in the checkpoint's own layout (memory-mapped when stored as F32).
        case float32(FloatBuffer, WeightLayout)
        /// Half precision, [out, in].
        case float16(HalfMatrix)
        /// int8 per output row, [out, in].
        case int8(Int8Matrix)
        /// 4-bit groups, [out, in] (see `Q4Matrix`).
        case q4(Q4Matrix)
    }

    public let weights: Weights
    public let bias: FloatBuffer?
    public let inFeatures: Int
    public let outFeatures: Int

    public init(weights: Weights, bias: FloatBuffer?, inFeatures: Int, outFeatures: Int) {
        precondition(bias == nil || bias!.count == outFeatures)
        self.weights = weights
        self.bias = bias
        self.inFeatures = inFeatures
        self.outFeatures = outFeatures
    }

    /// A float matrix converted to `precision` (a copy unless `precision` is f32).
    public init(
        weight: FloatBuffer, bias: FloatBuffer?, inFeatures: Int, outFeatures: Int, layout: WeightLayout,
        precision: WeightPrecision = .f32
    ) {
        precondition(weight.count == inFeatures * outFeatures)
        // The floats are read once to convert them; their file pages are given back block by
        // block as the conversion goes (a tied embedding that still looks rows up gets just
        // those pages back from the file).
        let rowsDone: ((Range<Int>) -> Void)? =
            weight.isMapped
            ? { rows in
                weight.releaseMappedPages(elements: (rows.lowerBound * inFeatures)..<(rows.upperBound * inFeatures))
            }
            : nil
        if precision != .f32 { weight.adviseReadOnceInBlocks() }
        let weights: Weights
        switch precision {
        case .f32: weights = .float32(weight, layout)
        case .f16:
            weights = .float16(
                HalfMatrix(
                    converting: weight.pointer, inFeatures: inFeatures, outFeatures: outFeatures, layout: layout,
                    rowsDone: rowsDone))
        case .int8:
            weights = .int8(
                Int8Matrix(
                    quantizing: weight.pointer, inFeatures: inFeatures, outFeatures: outFeatures, layout: layout,
                    rowsDone: rowsDone))
        case .q4:
            weights = .q4(
                Q4Matrix(
                    quantizing: weight.pointer, inFeatures: inFeatures, outFeatures: outFeatures, layout: layout,
                    rowsDone: rowsDone))
        }
        // Blocks give back only the pages wholly inside them; this takes the few pages that
        // straddle two blocks.
        if precision != .f32 { weight.releaseMappedPages() }
        self.init(weights: weights, bias: bias, inFeatures: inFeatures, outFeatures: outFeatures)
    }

    /// Loads `<prefix>.weight` (and `<prefix>.bias` when `hasBias`), checking shapes.
    ///
    /// `layout` is how the architecture stores the matrix in a Hugging Face checkpoint
    /// (GPT-2's Conv1D [in, out] is `.inputMajor`, torch.nn.Linear [out, in] `.outputMajor`).
    /// A file written by `octavo-infer quantize` holds [out, in] matrices (int8 with
    /// `<prefix>.weight_scale` and `<prefix>.weight_row_sum` rows, q4, or f16) and is used as
    /// stored (see `QuantizedTensors`).
    public init(
        _ checkpoint: Checkpoint, _ prefix: String, inFeatures: Int, outFeatures: Int,
        layout: WeightLayout, hasBias: Bool = true, precision: WeightPrecision = .f32
    ) throws {
        let bias = hasBias ? try checkpoint.require(prefix + ".bias").floats(expectedShape: [outFeatures]) : nil
        let view = try checkpoint.require(prefix + ".weight")
        if let stored = try QuantizedTensors.load(checkpoint, view: view, rows: outFeatures, columns: inFeatures) {
            self.init(weights: stored, bias: bias, inFeatures: inFeatures, outFeatures: outFeatures)
            return
        }
        let shape = layout == .inputMajor ? [inFeatures, outFeatures] : [outFeatures, inFeatures]
        self.init(
            weight: try view.floats(expectedShape: shape), bias: bias, inFeatures: inFeatures, outFeatures: outFeatures,
            layout: layout, precision: precision)
    }

    /// out[rows, outFeatures] = input[rows, inFeatures]·W + b; with `accumulate`,
    /// out += input·W + b (a residual connection for free).
    public func callAsFunction(
        out: UnsafeMutablePointer<Float>, input: UnsafePointer<Float>, rows: Int, accumulate: Bool = false,
        pool: ComputePool = .shared
    ) {
        switch weights {
        case .float32(let weight, let layout):
            matmul(
                out: out, input: input, weight: weight.pointer, rows: rows, inner: inFeatures, cols: outFeatures,
                layout: layout, accumulate: accumulate, pool: pool)
        case .float16(let matrix):
            pool.parallelFor(outFeatures, granularity: 8, minimumPerThread: 256) { range in
                matmulHalf(
                    y: out, yStride: outFeatures, x: input, activations: rows, weight: matrix, rowRange: range,
                    accumulate: accumulate)
            }
        case .int8(let matrix):
            let kernel = Int8Kernel.selected
            let bytes = QuantizedActivations.byteCount(rows: rows, columns: inFeatures, kernel: kernel)
            ThreadScratch.withBytes(.quantizedActivations, byteCount: bytes) { values in
                ThreadScratch.withFloats(.activationScales, count: rows) { scales in
                    let x = QuantizedActivations(
                        quantizing: input, rows: rows, columns: inFeatures, kernel: kernel,
                        values: values, scales: scales)
                    pool.parallelFor(outFeatures, granularity: 8, minimumPerThread: 256) { range in
                        matmulInt8(
                            y: out, yStride: outFeatures, x: x, weight: matrix, rowRange: range, accumulate: accumulate)
                    }
                }
            }
        case .q4(let matrix):
            let kernel = Int8Kernel.selected
            let bytes = Q4Activations.byteCount(rows: rows, columns: inFeatures, groupSize: matrix.groupSize)
            ThreadScratch.withBytes(.quantizedActivations, byteCount: bytes) { memory in
                let x = Q4Activations(
                    quantizing: input, rows: rows, columns: inFeatures, groupSize: matrix.groupSize, memory: memory)
                pool.parallelFor(outFeatures, granularity: 8, minimumPerThread: 256) { range in
                    matmulQ4(
                        y: out, yStride: outFeatures, x: x, weight: matrix, rowRange: range, accumulate: accumulate,
                        kernel: kernel)
                }
            }
        }
        if let bias { addBias(out, bias: bias.pointer, rows: rows, cols: outFeatures) }
    }

    /// Bytes the weight matrix occupies in memory (mapped or owned).
    public var weightBytes: Int {
        switch weights {
        case .float32(let buffer, _): return buffer.count * 4
        case .float16(let matrix): return matrix.byteCount
        case .int8(let matrix): return matrix.byteCount
        case .q4(let matrix): return matrix.byteCount
        }
    }
}

extension Linear.Weights {
    /// Whether these are the very fp32 floats of `buffer` (a tied output layer).
    public func isFloat32Borrowing(_ buffer: FloatBuffer) -> Bool {
        if case .float32(let own, _) = self { return own === buffer }
        return false
    }
}
