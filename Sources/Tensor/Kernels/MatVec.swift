/// Matrix-vector products for one row of activations (batch-1 decode), written
/// for memory bandwidth: every weight is read exactly once, in address order,
/// split across the compute pool. OpenBLAS's sgemv does the same work but cannot
/// share the pool's threads.

@inline(__always) private func load8(_ p: UnsafeRawPointer, _ index: Int) -> SIMD8<Float> {
    p.loadUnaligned(fromByteOffset: index &* 4, as: SIMD8<Float>.self)
}

/// y[cols] (=|+=) x[inner] · W, W stored [inner, cols] row-major (GPT-2's Conv1D),
/// for the columns `columns` only (a thread's share).
///
/// Streams eight rows of W at a time and accumulates into y, which stays in L1/L2:
/// the rows are consecutive in memory, so the reads form a few long sequential
/// streams the prefetcher follows (measured 17-22 GB/s on one core here, against
/// 12-16 for a dot product per column tile).
public func matvecInputMajor(
    y: UnsafeMutablePointer<Float>, x: UnsafePointer<Float>, weight: UnsafePointer<Float>,
    inner: Int, cols: Int, columns: Range<Int>, accumulate: Bool
) {
    let yRaw = UnsafeMutableRawPointer(y)
    if !accumulate { (y + columns.lowerBound).update(repeating: 0, count: columns.count) }
    let vectorEnd = columns.lowerBound + (columns.count / 8) * 8
    let stride = cols * 4
    var k = 0
    while k + 8 <= inner {
        let x0 = SIMD8<Float>(repeating: x[k]), x1 = SIMD8<Float>(repeating: x[k + 1])
        let x2 = SIMD8<Float>(repeating: x[k + 2]), x3 = SIMD8<Float>(repeating: x[k + 3])
        let x4 = SIMD8<Float>(repeating: x[k + 4]), x5 = SIMD8<Float>(repeating: x[k + 5])
        let x6 = SIMD8<Float>(repeating: x[k + 6]), x7 = SIMD8<Float>(repeating: x[k + 7])
        let r0 = UnsafeRawPointer(weight + k * cols)
        var j = columns.lowerBound
        while j < vectorEnd {
            var acc = yRaw.loadUnaligned(fromByteOffset: j * 4, as: SIMD8<Float>.self)
            acc += x0 * load8(r0, j)
            acc += x1 * load8(r0 + stride, j)
            acc += x2 * load8(r0 + 2 * stride, j)
            acc += x3 * load8(r0 + 3 * stride, j)
            acc += x4 * load8(r0 + 4 * stride, j)
            acc += x5 * load8(r0 + 5 * stride, j)
            acc += x6 * load8(r0 + 6 * stride, j)
            acc += x7 * load8(r0 + 7 * stride, j)
            yRaw.storeBytes(of: acc, toByteOffset: j * 4, as: SIMD8<Float>.self)
            j += 8
        }
        while j < columns.upperBound {
            var sum = y[j]
            for i in 0..<8 { sum += x[k + i] * weight[(k + i) * cols + j] }
            y[j] = sum
            j += 1
        }
        k += 8
    }
    while k < inner {
        let xk = SIMD8<Float>(repeating: x[k])
        let row = UnsafeRawPointer(weight + k * cols)
        var j = columns.lowerBound
        while j < vectorEnd {
            let acc = yRaw.loadUnaligned(fromByteOffset: j * 4, as: SIMD8<Float>.self) + xk * load8(row, j)
            yRaw.storeBytes(of: acc, toByteOffset: j * 4, as: SIMD8<Float>.self)
            j += 8
        }
        while j < columns.upperBound {
            y[j] += x[k] * weight[k * cols + j]
            j += 1
        }
        k += 1
    }
}

/// y[r] (=|+=) W[r, :] · x for the rows `rows`, W stored [outFeatures, inner]
/// row-major (torch.nn.Linear, an embedding table used as the output layer).
///
/// Eight rows per pass, one accumulator each: the x loads are shared and eight
/// independent chains hide the FMA latency (measured faster than two rows with two
/// accumulators, whose per-row horizontal sums dominate at inner = 768).
public func matvecOutputMajor(
    y: UnsafeMutablePointer<Float>, x: UnsafePointer<Float>, weight: UnsafePointer<Float>,
    inner: Int, rows: Range<Int>, accumulate: Bool
) {
    let xRaw = UnsafeRawPointer(x)
    let vectorEnd = (inner / 8) * 8
    let stride = inner * 4
    @inline(__always) func finish(_ r: Int, _ partial: Float) {
        var s = partial
        var k = vectorEnd
        while k < inner {
            s += x[k] * weight[r * inner + k]
            k += 1
        }
        y[r] = accumulate ? y[r] + s : s
    }
    var r = rows.lowerBound
    while r + 8 <= rows.upperBound {
        let p = UnsafeRawPointer(weight + r * inner)
        var a0 = SIMD8<Float>(), a1 = SIMD8<Float>(), a2 = SIMD8<Float>(), a3 = SIMD8<Float>()
        var a4 = SIMD8<Float>(), a5 = SIMD8<Float>(), a6 = SIMD8<Float>(), a7 = SIMD8<Float>()
        var k = 0
        while k < vectorEnd {
            let xv = load8(xRaw, k)
            a0 += xv * load8(p, k)
            a1 += xv * load8(p + stride, k)
            a2 += xv * load8(p + 2 * stride, k)
            a3 += xv * load8(p + 3 * stride, k)
            a4 += xv * load8(p + 4 * stride, k)
            a5 += xv * load8(p + 5 * stride, k)
            a6 += xv * load8(p + 6 * stride, k)
            a7 += xv * load8(p + 7 * stride, k)
            k += 8
        }
        finish(r, a0.sum()); finish(r + 1, a1.sum()); finish(r + 2, a2.sum()); finish(r + 3, a3.sum())
        finish(r + 4, a4.sum()); finish(r + 5, a5.sum()); finish(r + 6, a6.sum()); finish(r + 7, a7.sum())
        r += 8
    }
    while r < rows.upperBound {
        let p = UnsafeRawPointer(weight + r * inner)
        var acc = SIMD8<Float>()
        var k = 0
        while k < vectorEnd {
            acc += load8(xRaw, k) * load8(p, k)
            k += 8
        }
        finish(r, acc.sum())
        r += 1
    }
}

/// out[i, j] (=|+=) Σ_k x[i, k] · W[k, j] for a few activation rows (batched decode, beams),
/// W stored [inner, cols] row-major, for the columns `columns`; row i of x starts at
/// x + i·xStride (xStride = inner, or more for a block of W's rows), row i of out at
/// out + i·outStride.
///
/// Each 8-column strip of eight rows of W is loaded once into registers and used for
/// every activation row, so the weights are read once however many rows there are (a
/// GEMM library would first pack W into a buffer: another full read and write of it).
/// Give `out` a stride that is not a multiple of 4 KiB: rows of out that are (GPT-2's
/// 3072 and 768 columns are) fall into the same L1 sets, and at eight rows they evict
/// each other on every strip (measured: 26 ms against 10.7 for 24 GPT-2 MLP matrices at
/// 8 rows, 2 threads, with out rows 16 floats apart from the 4 KiB pattern).
public func matmulInputMajorFewRows(
    out: UnsafeMutablePointer<Float>, outStride: Int, x: UnsafePointer<Float>, xStride: Int, weight: UnsafePointer<Float>,
    rows: Int, inner: Int, cols: Int, columns: Range<Int>, accumulate: Bool
) {
    let vectorEnd = columns.lowerBound + (columns.count / 8) * 8
    let outRaw = UnsafeMutableRawPointer(out)
    if !accumulate {
        for i in 0..<rows { (out + i * outStride + columns.lowerBound).update(repeating: 0, count: columns.count) }
    }
    let stride = cols * 4
    var k = 0
    while k + 8 <= inner {
        let r0 = UnsafeRawPointer(weight + k * cols)
        var j = columns.lowerBound
        while j < vectorEnd {
            let w0 = load8(r0, j), w1 = load8(r0 + stride, j), w2 = load8(r0 + 2 * stride, j), w3 = load8(r0 + 3 * stride, j)
            let w4 = load8(r0 + 4 * stride, j), w5 = load8(r0 + 5 * stride, j), w6 = load8(r0 + 6 * stride, j), w7 = load8(r0 + 7 * stride, j)
            for i in 0..<rows {
                let xi = x + i * xStride + k
                let offset = (i * outStride + j) * 4
                var acc = outRaw.loadUnaligned(fromByteOffset: offset, as: SIMD8<Float>.self)
                acc.addProduct(SIMD8<Float>(repeating: xi[0]), w0)
                acc.addProduct(SIMD8<Float>(repeating: xi[1]), w1)
                acc.addProduct(SIMD8<Float>(repeating: xi[2]), w2)
                acc.addProduct(SIMD8<Float>(repeating: xi[3]), w3)
                acc.addProduct(SIMD8<Float>(repeating: xi[4]), w4)
                acc.addProduct(SIMD8<Float>(repeating: xi[5]), w5)
                acc.addProduct(SIMD8<Float>(repeating: xi[6]), w6)
                acc.addProduct(SIMD8<Float>(repeating: xi[7]), w7)
                outRaw.storeBytes(of: acc, toByteOffset: offset, as: SIMD8<Float>.self)
            }
            j += 8
        }
        while j < columns.upperBound {
            for i in 0..<rows {
                var sum = out[i * outStride + j]
                for d in 0..<8 { sum += x[i * xStride + k + d] * weight[(k + d) * cols + j] }
                out[i * outStride + j] = sum
            }
            j += 1
        }
        k += 8
    }
    while k < inner {
        let row = UnsafeRawPointer(weight + k * cols)
        var j = columns.lowerBound
        while j < vectorEnd {
            let w = load8(row, j)
            for i in 0..<rows {
                let offset = (i * outStride + j) * 4
                var acc = outRaw.loadUnaligned(fromByteOffset: offset, as: SIMD8<Float>.self)
                acc.addProduct(SIMD8<Float>(repeating: x[i * xStride + k]), w)
                outRaw.storeBytes(of: acc, toByteOffset: offset, as: SIMD8<Float>.self)
            }
            j += 8
        }
        while j < columns.upperBound {
            for i in 0..<rows { out[i * outStride + j] += x[i * xStride + k] * weight[k * cols + j] }
            j += 1
        }
        k += 1
    }
}

/// out[i, r] (=|+=) W[r, :] · x[i, :] for a few activation rows, W stored [outFeatures, inner],
/// for the weight rows `rowRange`: each weight row is read once (from memory) and reused
/// from L1 for every activation row.
public func matmulOutputMajorFewRows(
    out: UnsafeMutablePointer<Float>, outStride: Int, x: UnsafePointer<Float>, weight: UnsafePointer<Float>,
    rows: Int, inner: Int, rowRange: Range<Int>, accumulate: Bool
) {
    let vectorEnd = (inner / 8) * 8
    var r = rowRange.lowerBound
    while r < rowRange.upperBound {
        let pair = min(2, rowRange.upperBound - r)
        let p0 = UnsafeRawPointer(weight + r * inner)
        let p1 = pair > 1 ? p0 + inner * 4 : p0
        var i = 0
        while i < rows {
            let group = min(4, rows - i)
            let x0 = UnsafeRawPointer(x + i * inner)
            let x1 = group > 1 ? x0 + inner * 4 : x0
            let x2 = group > 2 ? x0 + inner * 8 : x0
            let x3 = group > 3 ? x0 + inner * 12 : x0
            var a0 = SIMD8<Float>(), b0 = SIMD8<Float>(), a1 = SIMD8<Float>(), b1 = SIMD8<Float>()
            var a2 = SIMD8<Float>(), b2 = SIMD8<Float>(), a3 = SIMD8<Float>(), b3 = SIMD8<Float>()
            var k = 0
            while k < vectorEnd {
                let w0 = load8(p0, k), w1 = load8(p1, k)
                let v0 = load8(x0, k)
                a0 += v0 * w0
                b0 += v0 * w1
                if group > 1 { let v = load8(x1, k); a1 += v * w0; b1 += v * w1 }
                if group > 2 { let v = load8(x2, k); a2 += v * w0; b2 += v * w1 }
                if group > 3 { let v = load8(x3, k); a3 += v * w0; b3 += v * w1 }
                k += 8
            }
            @inline(__always) func finish(_ g: Int, _ q: Int, _ partial: Float) {
                var s = partial
                for t in vectorEnd..<inner { s += x[(i + g) * inner + t] * weight[(r + q) * inner + t] }
                let target = out + (i + g) * outStride + r + q
                target.pointee = accumulate ? target.pointee + s : s
            }
            finish(0, 0, a0.sum())
            if pair > 1 { finish(0, 1, b0.sum()) }
            if group > 1 { finish(1, 0, a1.sum()); if pair > 1 { finish(1, 1, b1.sum()) } }
            if group > 2 { finish(2, 0, a2.sum()); if pair > 1 { finish(2, 1, b2.sum()) } }
            if group > 3 { finish(3, 0, a3.sum()); if pair > 1 { finish(3, 1, b3.sum()) } }
            i += group
        }
        r += pair
    }
}
