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
