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
/// Streams four rows of W at a time and accumulates into y, which stays in L1.
public func matvecInputMajor(
    y: UnsafeMutablePointer<Float>, x: UnsafePointer<Float>, weight: UnsafePointer<Float>,
    inner: Int, cols: Int, columns: Range<Int>, accumulate: Bool
) {
    let yRaw = UnsafeMutableRawPointer(y)
    if !accumulate { (y + columns.lowerBound).update(repeating: 0, count: columns.count) }
    let vectorEnd = columns.lowerBound + (columns.count / 8) * 8
    var k = 0
    while k + 4 <= inner {
        let x0 = SIMD8<Float>(repeating: x[k]), x1 = SIMD8<Float>(repeating: x[k + 1])
        let x2 = SIMD8<Float>(repeating: x[k + 2]), x3 = SIMD8<Float>(repeating: x[k + 3])
        let r0 = UnsafeRawPointer(weight + k * cols), r1 = r0 + cols * 4, r2 = r1 + cols * 4, r3 = r2 + cols * 4
        var j = columns.lowerBound
        while j < vectorEnd {
            var acc = yRaw.loadUnaligned(fromByteOffset: j * 4, as: SIMD8<Float>.self)
            acc += x0 * load8(r0, j)
            acc += x1 * load8(r1, j)
            acc += x2 * load8(r2, j)
            acc += x3 * load8(r3, j)
            yRaw.storeBytes(of: acc, toByteOffset: j * 4, as: SIMD8<Float>.self)
            j += 8
        }
        while j < columns.upperBound {
            y[j] += x[k] * weight[k * cols + j] + x[k + 1] * weight[(k + 1) * cols + j]
                + x[k + 2] * weight[(k + 2) * cols + j] + x[k + 3] * weight[(k + 3) * cols + j]
            j += 1
        }
        k += 4
    }
    while k < inner {
        let xk = x[k]
        let row = weight + k * cols
        for j in columns { y[j] += xk * row[j] }
        k += 1
    }
}

/// y[r] (=|+=) W[r, :] · x for the rows `rows`, W stored [outFeatures, inner]
/// row-major (torch.nn.Linear, an embedding table used as the output layer).
public func matvecOutputMajor(
    y: UnsafeMutablePointer<Float>, x: UnsafePointer<Float>, weight: UnsafePointer<Float>,
    inner: Int, rows: Range<Int>, accumulate: Bool
) {
    let xRaw = UnsafeRawPointer(x)
    let vectorEnd = (inner / 16) * 16
    var r = rows.lowerBound
    // Two rows per pass: the x loads are shared, and two independent chains hide FMA latency.
    while r + 2 <= rows.upperBound {
        let p0 = UnsafeRawPointer(weight + r * inner), p1 = p0 + inner * 4
        var a0 = SIMD8<Float>(), a1 = SIMD8<Float>(), b0 = SIMD8<Float>(), b1 = SIMD8<Float>()
        var k = 0
        while k < vectorEnd {
            let xa = load8(xRaw, k), xb = load8(xRaw, k + 8)
            a0 += xa * load8(p0, k)
            a1 += xb * load8(p0, k + 8)
            b0 += xa * load8(p1, k)
            b1 += xb * load8(p1, k + 8)
            k += 16
        }
        var s0 = (a0 + a1).sum(), s1 = (b0 + b1).sum()
        while k < inner {
            s0 += x[k] * weight[r * inner + k]
            s1 += x[k] * weight[(r + 1) * inner + k]
            k += 1
        }
        y[r] = accumulate ? y[r] + s0 : s0
        y[r + 1] = accumulate ? y[r + 1] + s1 : s1
        r += 2
    }
    if r < rows.upperBound {
        let s = dot(x, weight + r * inner, count: inner)
        y[r] = accumulate ? y[r] + s : s
    }
}
