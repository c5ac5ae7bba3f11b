import COpenBLAS

#if arch(x86_64)
    import X86AVX512
#endif

/// How a weight matrix of a linear map x·W is stored.
public enum WeightLayout: Sendable {
    /// [inFeatures, outFeatures] row-major: GPT-2's Conv1D. GEMM "NN".
    case inputMajor
    /// [outFeatures, inFeatures] row-major: torch.nn.Linear and embedding tables used as an output layer. GEMM "NT".
    case outputMajor
}

/// Up to this many activation rows (batched decode, beams), products read the weights
/// once with our kernels; above it (prefill, encoders) OpenBLAS's sgemm, which packs the
/// weights first, is faster.
public let fewRowsLimit = 8

/// Row counts (prompts) for which [in, out] products skip sgemm for the unpacked AVX-512
/// kernel (Sources/X86AVX512/FloatProductAVX512.swift): the range where it measured faster.
let unpackedProductRows = 32...256

/// out[rows, cols] (=|+=) input[rows, inner] · W, W stored per `layout`, on the
/// compute pool.
///
/// One row (batch-1 decode) goes through the bandwidth-bound kernels of MatVec.swift,
/// a few rows through their batched forms, more rows through OpenBLAS's sgemm
/// (single-threaded), one column block per pool thread. With `accumulate` the product is added to what `out` holds (residual
/// connections fold into the GEMM's beta = 1).
public func matmul(
    out: UnsafeMutablePointer<Float>, input: UnsafePointer<Float>, weight: UnsafePointer<Float>,
    rows: Int, inner: Int, cols: Int, layout: WeightLayout, accumulate: Bool = false,
    pool: ComputePool = .shared
) {
    guard rows > 0, cols > 0 else { return }
    if inner == 0 {
        if !accumulate { out.update(repeating: 0, count: rows * cols) }
        return
    }
    // Below this many weights per thread, waking the pool costs more than it saves.
    let minimumColumns = max(1, 16_384 / max(inner, 1))
    if rows == 1 {
        switch layout {
        case .inputMajor:
            matmulInputMajorSplitByRows(
                out: out, x: input, weight: weight, rows: 1, inner: inner, cols: cols,
                accumulate: accumulate, pool: pool)
        case .outputMajor:
            pool.parallelFor(cols, granularity: 8, minimumPerThread: minimumColumns) { range in
                matvecOutputMajor(y: out, x: input, weight: weight, inner: inner, rows: range, accumulate: accumulate)
            }
        }
        return
    }
    if rows <= fewRowsLimit {
        switch layout {
        case .inputMajor:
            matmulInputMajorSplitByRows(
                out: out, x: input, weight: weight, rows: rows, inner: inner, cols: cols,
                accumulate: accumulate, pool: pool)
        case .outputMajor:
            pool.parallelFor(cols, granularity: 4, minimumPerThread: minimumColumns) { range in
                matmulOutputMajorFewRows(
                    out: out, outStride: cols, x: input, weight: weight, rows: rows, inner: inner,
                    rowRange: range, accumulate: accumulate)
            }
        }
        return
    }
    let beta: Float = accumulate ? 1 : 0
    #if arch(x86_64)
        if layout == .inputMajor && unpackedProductRows.contains(rows) && CPUFeatures.useUnpackedProduct {
            // 64-column strips on our AVX-512 kernel; a last strip narrower than 64 through sgemm.
            pool.parallelFor(cols, granularity: 64, minimumPerThread: max(64, minimumColumns / rows)) { columns in
                let wide = columns.lowerBound..<(columns.lowerBound + columns.count / 64 * 64)
                if !wide.isEmpty {
                    inputMajorProductAVX512(
                        c: out, ldc: cols, a: input, lda: inner, w: weight, ldw: cols,
                        rows: rows, inner: inner, columns: wide, accumulate: accumulate)
                }
                if wide.upperBound < columns.upperBound {
                    cblas_sgemm(
                        CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(rows),
                        Int32(columns.upperBound - wide.upperBound), Int32(inner),
                        1, input, Int32(inner), weight + wide.upperBound, Int32(cols), beta, out + wide.upperBound,
                        Int32(cols))
                }
            }
            return
        }
    #endif
    pool.parallelFor(cols, granularity: 16, minimumPerThread: max(16, minimumColumns / rows)) { columns in
        let n = Int32(columns.count)
        let c = out + columns.lowerBound
        switch layout {
        case .inputMajor:
            cblas_sgemm(
                CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(rows), n, Int32(inner),
                1, input, Int32(inner), weight + columns.lowerBound, Int32(cols), beta, c, Int32(cols))
        case .outputMajor:
            cblas_sgemm(
                CblasRowMajor, CblasNoTrans, CblasTrans, Int32(rows), n, Int32(inner),
                1, input, Int32(inner), weight + columns.lowerBound * inner, Int32(inner), beta, c, Int32(cols))
        }
    }
}

/// out[rows, cols] (=|+=) x · W for W [inner, cols] (GPT-2's Conv1D) and one or a few
/// activation rows, one block of W's rows per thread.
///
/// Each thread reads one contiguous block of the matrix, which the prefetchers follow
/// at full speed; splitting by columns instead gives every thread eight short strided
/// streams per group of rows, which they follow less well. The price is a partial
/// product per thread, in the caller's `ThreadScratch`, added up at the end: one vector for each
/// thread but the first with one row; with several rows one for every thread, its rows
/// padded off the 4 KiB pattern (see `matmulInputMajorFewRows`).
func matmulInputMajorSplitByRows(
    out: UnsafeMutablePointer<Float>, x: UnsafePointer<Float>, weight: UnsafePointer<Float>,
    rows: Int, inner: Int, cols: Int, accumulate: Bool, pool: ComputePool
) {
    @inline(__always) func product(
        _ y: UnsafeMutablePointer<Float>, _ yStride: Int, _ k: Range<Int>, _ accumulate: Bool
    ) {
        if rows == 1 {
            matvecInputMajor(
                y: y, x: x + k.lowerBound, weight: weight + k.lowerBound * cols, inner: k.count, cols: cols,
                columns: 0..<cols, accumulate: accumulate)
        } else {
            matmulInputMajorFewRows(
                out: y, outStride: yStride, x: x + k.lowerBound, xStride: inner,
                weight: weight + k.lowerBound * cols, rows: rows, inner: k.count, cols: cols,
                columns: 0..<cols, accumulate: accumulate)
        }
    }
    // Below this many weights per thread, waking the pool costs more than it saves.
    let threads = min(pool.threadCount, max(1, inner * cols / 16_384), max(1, inner / 8))
    if threads == 1 && rows == 1 {
        product(out, cols, 0..<inner, accumulate)
        return
    }
    // With one row the first thread writes straight into out; with several every thread
    // writes a padded partial.
    let direct = rows == 1
    let stride = direct ? cols : cols + 16
    let size = rows * stride
    ThreadScratch.withFloats(.partialProducts, count: (direct ? threads - 1 : threads) * size) { base in
        @inline(__always) func partial(_ t: Int) -> UnsafeMutablePointer<Float> { base + (direct ? t - 1 : t) * size }
        pool.run { t in
            guard t < threads else { return }
            // Blocks of whole groups of eight rows, the kernels' unit.
            let first = (inner / 8) * t / threads * 8
            let end = t == threads - 1 ? inner : (inner / 8) * (t + 1) / threads * 8
            if direct && t == 0 {
                product(out, cols, first..<end, accumulate)
            } else {
                product(partial(t), stride, first..<end, false)
            }
        }
        for i in 0..<rows {
            let row = out + i * cols
            if !direct && !accumulate { row.update(from: partial(0) + i * stride, count: cols) }
            for t in (direct || !accumulate ? 1 : 0)..<threads { addInPlace(row, partial(t) + i * stride, count: cols) }
        }
    }
}

/// Sets the number of threads OpenBLAS itself starts (the pool keeps it at 1).
public func setBLASThreads(_ count: Int) {
    openblas_set_num_threads(Int32(max(1, count)))
}
