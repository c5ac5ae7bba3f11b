/// Products with int8 and f16 weight rows, for one or a few rows of activations
/// (decode, batched decode). Each weight row is read once and used for every
/// activation row while it is in L1.

/// Σ w[k]·x[k] for int8 weights and int8 activations held as Int16, exactly (|w·x| ≤ 127²).
///
/// A plain loop on purpose. The Tensor target is compiled with
/// `-Xllvm -force-vector-width=16` (Package.swift), under which LLVM turns it into the
/// ideal AVX2 inner loop: per 32 weights, two vpmovsxbw (int8 -> int16, from memory),
/// two vpmaddwd (16 products summed in pairs into 8 Int32 lanes) and two vpaddd. Swift
/// SIMD types cannot express vpmaddwd, and written with them the widening and pairwise
/// sums take twice the instructions (measured: the old kernel ran at 8.5-8.9 GB/s of
/// weights per thread, compute-bound, against 11-13 GB/s for a plain read).
@inline(__always)
func dotInt8(_ w: UnsafePointer<Int8>, _ x: UnsafePointer<Int16>, count: Int) -> Int32 {
    var sum: Int32 = 0
    for k in 0..<count { sum &+= Int32(truncatingIfNeeded: w[k]) &* Int32(truncatingIfNeeded: x[k]) }
    return sum
}

/// y[i, r] (=|+=) scales[r] · xScale[i] · Σ_k W[r, k] · xq[i, k] for weight rows `rowRange`
/// and activation rows i in 0..<activations (xq from `quantizeActivations`).
///
/// Each weight row is read from memory once and then from L1 for every activation row.
public func matmulInt8(
    y: UnsafeMutablePointer<Float>, yStride: Int, xWide: UnsafePointer<Int16>, xScales: UnsafePointer<Float>, activations: Int,
    weight: Int8Matrix, rowRange: Range<Int>, accumulate: Bool
) {
    let inner = weight.columns
    for r in rowRange {
        let row = weight.values + r * inner
        let scale = weight.scales[r]
        for i in 0..<activations {
            let value = Float(dotInt8(row, xWide + i * inner, count: inner)) * scale * xScales[i]
            let out = y + i * yStride + r
            out.pointee = accumulate ? out.pointee + value : value
        }
    }
}

/// Rounds to the nearest integer (ties to even) for |x| < 2^22, by adding 1.5·2^23 and
/// reading the integer out of the mantissa: no call into the stdlib's generic conversions.
@inline(__always)
public func roundToInt32(_ x: Float) -> Int32 {
    Int32(bitPattern: (x + 12_582_912).bitPattern) &- 0x4B40_0000
}

/// Quantizes `rows` activation rows (symmetric per row, like the weights: the largest
/// magnitude maps to 127) to int8 values held in Int16 lanes, the form `matmulInt8` reads.
public func quantizeActivations(
    _ x: UnsafePointer<Float>, rows: Int, count: Int, wide: UnsafeMutablePointer<Int16>, scales: UnsafeMutablePointer<Float>
) {
    for i in 0..<rows {
        let row = x + i * count
        var maximum: Float = 0
        for k in 0..<count { maximum = max(maximum, abs(row[k])) }
        let s = maximum / 127
        scales[i] = s
        let inverse: Float = s > 0 ? 1 / s : 0
        let out = wide + i * count
        for k in 0..<count { out[k] = Int16(truncatingIfNeeded: roundToInt32(row[k] * inverse)) }
    }
}

/// Σ x[k]·W[k] with W in half precision, widened 8 at a time (vcvtph2ps with F16C).
@inline(__always)
public func dotHalf(_ x: UnsafePointer<Float>, _ w: UnsafePointer<UInt16>, count: Int) -> Float {
    var acc0 = SIMD8<Float>(), acc1 = SIMD8<Float>()
    let rx = UnsafeRawPointer(x), rw = UnsafeRawPointer(w)
    var k = 0
    while k + 16 <= count {
        let w0 = SIMD8<Float>(rw.loadUnaligned(fromByteOffset: k * 2, as: SIMD8<Float16>.self))
        let w1 = SIMD8<Float>(rw.loadUnaligned(fromByteOffset: (k + 8) * 2, as: SIMD8<Float16>.self))
        acc0 += rx.loadUnaligned(fromByteOffset: k * 4, as: SIMD8<Float>.self) * w0
        acc1 += rx.loadUnaligned(fromByteOffset: (k + 8) * 4, as: SIMD8<Float>.self) * w1
        k += 16
    }
    var sum = (acc0 + acc1).sum()
    while k < count {
        sum += x[k] * Float(Float16(bitPattern: w[k]))
        k += 1
    }
    return sum
}

/// y[i, r] (=|+=) Σ_k W[r, k] · x[i, k] with half-precision weights, for weight rows `rowRange`.
public func matmulHalf(
    y: UnsafeMutablePointer<Float>, yStride: Int, x: UnsafePointer<Float>, activations: Int,
    weight: HalfMatrix, rowRange: Range<Int>, accumulate: Bool
) {
    let inner = weight.columns
    for r in rowRange {
        let row = weight.values + r * inner
        for i in 0..<activations {
            let value = dotHalf(x + i * inner, row, count: inner)
            let out = y + i * yStride + r
            out.pointee = accumulate ? out.pointee + value : value
        }
    }
}
