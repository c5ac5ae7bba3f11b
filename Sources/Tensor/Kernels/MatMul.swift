import COpenBLAS

/// How a weight matrix of a linear map x·W is stored.
public enum WeightLayout: Sendable {
    /// [inFeatures, outFeatures] row-major: GPT-2's Conv1D. GEMM "NN".
    case inputMajor
    /// [outFeatures, inFeatures] row-major: torch.nn.Linear and embedding tables used as an output layer. GEMM "NT".
    case outputMajor
}

/// out[rows, cols] (=|+=) input[rows, inner] · W, W stored per `layout`.
///
/// Goes through OpenBLAS: sgemv for a single row (decode), sgemm otherwise
/// (prefill, batched decode). With `accumulate` the product is added to what
/// `out` holds (residual connections fold into the GEMM's beta = 1).
public func matmul(
    out: UnsafeMutablePointer<Float>, input: UnsafePointer<Float>, weight: UnsafePointer<Float>,
    rows: Int, inner: Int, cols: Int, layout: WeightLayout, accumulate: Bool = false
) {
    guard rows > 0, cols > 0 else { return }
    let beta: Float = accumulate ? 1 : 0
    if inner == 0 {
        if !accumulate { out.update(repeating: 0, count: rows * cols) }
        return
    }
    if rows == 1 {
        switch layout {
        case .inputMajor:
            // y = Wᵀx with W [inner, cols]
            cblas_sgemv(CblasRowMajor, CblasTrans, Int32(inner), Int32(cols), 1, weight, Int32(cols), input, 1, beta, out, 1)
        case .outputMajor:
            cblas_sgemv(CblasRowMajor, CblasNoTrans, Int32(cols), Int32(inner), 1, weight, Int32(inner), input, 1, beta, out, 1)
        }
        return
    }
    switch layout {
    case .inputMajor:
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(rows), Int32(cols), Int32(inner),
                    1, input, Int32(inner), weight, Int32(cols), beta, out, Int32(cols))
    case .outputMajor:
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(rows), Int32(cols), Int32(inner),
                    1, input, Int32(inner), weight, Int32(inner), beta, out, Int32(cols))
    }
}

/// Sets the number of threads OpenBLAS uses for the calls above.
public func setBLASThreads(_ count: Int) {
    openblas_set_num_threads(Int32(max(1, count)))
}
