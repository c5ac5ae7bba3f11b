#if arch(x86_64)
    import X86Intrinsics
#endif

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
        let x0 = SIMD8<Float>(repeating: x[k])
        let x1 = SIMD8<Float>(repeating: x[k + 1])
        let x2 = SIMD8<Float>(repeating: x[k + 2])
        let x3 = SIMD8<Float>(repeating: x[k + 3])
        let x4 = SIMD8<Float>(repeating: x[k + 4])
        let x5 = SIMD8<Float>(repeating: x[k + 5])
        let x6 = SIMD8<Float>(repeating: x[k + 6])
        let x7 = SIMD8<Float>(repeating: x[k + 7])
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
        var a0 = SIMD8<Float>()
        var a1 = SIMD8<Float>()
        var a2 = SIMD8<Float>()
        var a3 = SIMD8<Float>()
        var a4 = SIMD8<Float>()
        var a5 = SIMD8<Float>()
        var a6 = SIMD8<Float>()
        var a7 = SIMD8<Float>()
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
        finish(r, a0.sum())
        finish(r + 1, a1.sum())
        finish(r + 2, a2.sum())
        finish(r + 3, a3.sum())
        finish(r + 4, a4.sum())
        finish(r + 5, a5.sum())
        finish(r + 6, a6.sum())
        finish(r + 7, a7.sum())
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
/// each other on every strip (16 floats off the 4 KiB pattern is enough).
public func matmulInputMajorFewRows(
    out: UnsafeMutablePointer<Float>, outStride: Int, x: UnsafePointer<Float>, xStride: Int,
    weight: UnsafePointer<Float>,
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
            let w0 = load8(r0, j)
            let w1 = load8(r0 + stride, j)
            let w2 = load8(r0 + 2 * stride, j)
            let w3 = load8(r0 + 3 * stride, j)
            let w4 = load8(r0 + 4 * stride, j)
            let w5 = load8(r0 + 5 * stride, j)
            let w6 = load8(r0 + 6 * stride, j)
            let w7 = load8(r0 + 7 * stride, j)
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
///
/// Tiles of four weight rows by up to four activation rows, so that four rows (NLLB's beam
/// search at batch 1) take a single pass over each weight tile; more rows take further
/// passes over the tile while it is in L1. The first pass prefetches the next tile: four
/// interleaved row streams are more than the hardware prefetcher keeps ahead of once
/// there are three or more activation rows of arithmetic per weight. The next tile goes to
/// L2, not L1: in L1 it pushes out the activation rows every tile reuses (four rows of 1024
/// floats are 16 KB, half of L1).
public func matmulOutputMajorFewRows(
    out: UnsafeMutablePointer<Float>, outStride: Int, x: UnsafePointer<Float>, weight: UnsafePointer<Float>,
    rows: Int, inner: Int, rowRange: Range<Int>, accumulate: Bool
) {
    let o = OutputMajorOperands(
        out: out, outStride: outStride, x: x, weight: weight, inner: inner, accumulate: accumulate)
    let prefetch = rows >= 3
    var r = rowRange.lowerBound
    while r + 4 <= rowRange.upperBound {
        outputMajorTiles(4, o, rows: rows, r: r, prefetch: prefetch)
        r += 4
    }
    while r < rowRange.upperBound {
        outputMajorTiles(1, o, rows: rows, r: r, prefetch: false)
        r += 1
    }
}

/// What every output-major tile reads and writes, passed as one value.
private struct OutputMajorOperands {
    let out: UnsafeMutablePointer<Float>, outStride: Int
    let x: UnsafePointer<Float>, weight: UnsafePointer<Float>, inner: Int
    let accumulate: Bool
}

/// Weight rows r..<r+P against every activation row, four at a time; only the first pass
/// (the one that reads the tile from memory) prefetches.
@inline(__always)
private func outputMajorTiles(_ P: Int, _ o: OutputMajorOperands, rows: Int, r: Int, prefetch: Bool) {
    var i = 0
    while i + 4 <= rows {
        if prefetch && i == 0 {
            outputMajorTile(P, 4, o, r: r, i: i, prefetch: true)
        } else {
            outputMajorTile(P, 4, o, r: r, i: i, prefetch: false)
        }
        i += 4
    }
    switch rows - i {
    case 3:
        if prefetch && i == 0 {
            outputMajorTile(P, 3, o, r: r, i: i, prefetch: true)
        } else {
            outputMajorTile(P, 3, o, r: r, i: i, prefetch: false)
        }
    case 2: outputMajorTile(P, 2, o, r: r, i: i, prefetch: false)
    case 1: outputMajorTile(P, 1, o, r: r, i: i, prefetch: false)
    default: break
    }
}

/// out[i..<i+G, r..<r+P] for P ≤ 4 weight rows and G ≤ 4 activation rows in P·G
/// accumulators. P, G and `prefetch` are literals at every call site (the function is
/// transparent: always inlined, which `@inline(__always)` did not guarantee at this many
/// call sites), so each guard folds away and every tile shape gets its own loop. With
/// `prefetch`, each 64-byte line of the next P weight rows is requested once, one tile
/// ahead.
@_transparent
private func outputMajorTile(_ P: Int, _ G: Int, _ o: OutputMajorOperands, r: Int, i: Int, prefetch: Bool) {
    let inner = o.inner
    let vectorEnd = (inner / 8) * 8
    let rowBytes = inner * 4
    let w0 = UnsafeRawPointer(o.weight + r * inner)
    let w1 = w0 + (P > 1 ? rowBytes : 0)
    let w2 = w0 + (P > 2 ? 2 * rowBytes : 0)
    let w3 = w0 + (P > 3 ? 3 * rowBytes : 0)
    let x0 = UnsafeRawPointer(o.x + i * inner)
    let x1 = x0 + (G > 1 ? rowBytes : 0)
    let x2 = x0 + (G > 2 ? 2 * rowBytes : 0)
    let x3 = x0 + (G > 3 ? 3 * rowBytes : 0)
    let ahead = P * rowBytes
    var a00 = SIMD8<Float>()
    var a01 = SIMD8<Float>()
    var a02 = SIMD8<Float>()
    var a03 = SIMD8<Float>()
    var a10 = SIMD8<Float>()
    var a11 = SIMD8<Float>()
    var a12 = SIMD8<Float>()
    var a13 = SIMD8<Float>()
    var a20 = SIMD8<Float>()
    var a21 = SIMD8<Float>()
    var a22 = SIMD8<Float>()
    var a23 = SIMD8<Float>()
    var a30 = SIMD8<Float>()
    var a31 = SIMD8<Float>()
    var a32 = SIMD8<Float>()
    var a33 = SIMD8<Float>()
    var k = 0
    while k < vectorEnd {
        #if arch(x86_64)
            if prefetch && k & 15 == 0 {
                prefetchIntoL2(w0 + ahead + k * 4)
                if P > 1 { prefetchIntoL2(w1 + ahead + k * 4) }
                if P > 2 { prefetchIntoL2(w2 + ahead + k * 4) }
                if P > 3 { prefetchIntoL2(w3 + ahead + k * 4) }
            }
        #endif
        let v0 = load8(w0, k)
        let v1 = P > 1 ? load8(w1, k) : SIMD8<Float>()
        let v2 = P > 2 ? load8(w2, k) : SIMD8<Float>()
        let v3 = P > 3 ? load8(w3, k) : SIMD8<Float>()
        let u0 = load8(x0, k)
        a00.addProduct(u0, v0)
        if P > 1 { a01.addProduct(u0, v1) }
        if P > 2 { a02.addProduct(u0, v2) }
        if P > 3 { a03.addProduct(u0, v3) }
        if G > 1 {
            let u1 = load8(x1, k)
            a10.addProduct(u1, v0)
            if P > 1 { a11.addProduct(u1, v1) }
            if P > 2 { a12.addProduct(u1, v2) }
            if P > 3 { a13.addProduct(u1, v3) }
        }
        if G > 2 {
            let u2 = load8(x2, k)
            a20.addProduct(u2, v0)
            if P > 1 { a21.addProduct(u2, v1) }
            if P > 2 { a22.addProduct(u2, v2) }
            if P > 3 { a23.addProduct(u2, v3) }
        }
        if G > 3 {
            let u3 = load8(x3, k)
            a30.addProduct(u3, v0)
            if P > 1 { a31.addProduct(u3, v1) }
            if P > 2 { a32.addProduct(u3, v2) }
            if P > 3 { a33.addProduct(u3, v3) }
        }
        k += 8
    }
    @inline(__always) func finish(_ g: Int, _ q: Int, _ partial: SIMD8<Float>) {
        var s = partial.sum()
        for t in vectorEnd..<inner { s += o.x[(i + g) * inner + t] * o.weight[(r + q) * inner + t] }
        let target = o.out + (i + g) * o.outStride + r + q
        target.pointee = o.accumulate ? target.pointee + s : s
    }
    @inline(__always) func finishRow(
        _ g: Int, _ p0: SIMD8<Float>, _ p1: SIMD8<Float>, _ p2: SIMD8<Float>, _ p3: SIMD8<Float>
    ) {
        finish(g, 0, p0)
        if P > 1 { finish(g, 1, p1) }
        if P > 2 { finish(g, 2, p2) }
        if P > 3 { finish(g, 3, p3) }
    }
    finishRow(0, a00, a01, a02, a03)
    if G > 1 { finishRow(1, a10, a11, a12, a13) }
    if G > 2 { finishRow(2, a20, a21, a22, a23) }
    if G > 3 { finishRow(3, a30, a31, a32, a33) }
}
