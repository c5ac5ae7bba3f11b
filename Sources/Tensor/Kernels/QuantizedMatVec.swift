/// Products with int8 and f16 weight rows, for one or a few rows of activations
/// (decode, batched decode). Each weight row is read once and used for every
/// activation row while it is in L1.

/// Sign-extends the even and the odd bytes of 32 int8 values, loaded as 16 Int16 lanes.
///
/// Written with shifts rather than the stdlib's generic SIMD integer conversions, which
/// the optimizer does not always inline (a call per 16 lanes was measured in the hot loop).
@inline(__always)
func signExtendedPairs(_ p: UnsafeRawPointer) -> (even: SIMD16<Int16>, odd: SIMD16<Int16>) {
    let v = p.loadUnaligned(as: SIMD16<Int16>.self)
    return ((v &<< 8) &>> 8, v &>> 8)
}

/// Adds the 16 Int16 lanes of `v` into 8 Int32 lanes (pairs of neighbours), exactly.
@inline(__always)
func pairwiseWiden(_ v: SIMD16<Int16>) -> SIMD8<Int32> {
    let lanes = unsafeBitCast(v, to: SIMD8<Int32>.self)
    return ((lanes &<< 16) &>> 16) &+ (lanes &>> 16)
}

/// The layout `quantizeActivations` writes and `matmulInt8` reads: every full chunk of
/// 32 values as its 16 even-indexed values then its 16 odd-indexed ones (matching how
/// a chunk of int8 weights splits into even and odd bytes), the tail in order.
public let int8ChunkSize = 32

/// y[i, r] (=|+=) scales[r] · xScale[i] · Σ_k W[r, k] · xq[i, k] for weight rows `rowRange`
/// and activation rows i in 0..<activations.
///
/// Per 32 weights: widened once, then for each of up to four activation rows two 16-bit
/// multiplies (|w·x| ≤ 127² fits Int16, and so does the sum of two) and one widening add.
/// Each weight row is read once for all activation rows.
public func matmulInt8(
    y: UnsafeMutablePointer<Float>, yStride: Int, xWide: UnsafePointer<Int16>, xScales: UnsafePointer<Float>, activations: Int,
    weight: Int8Matrix, rowRange: Range<Int>, accumulate: Bool
) {
    let inner = weight.columns
    let vectorEnd = (inner / int8ChunkSize) * int8ChunkSize
    @inline(__always) func store(_ value: Float, _ i: Int, _ r: Int) {
        let out = y + i * yStride + r
        out.pointee = accumulate ? out.pointee + value : value
    }
    for r in rowRange {
        let row = UnsafeRawPointer(weight.values + r * inner)
        let scale = weight.scales[r]
        var i = 0
        while i < activations {
            let group = min(4, activations - i)
            let x0 = UnsafeRawPointer(xWide + i * inner)
            let x1 = group > 1 ? x0 + inner * 2 : x0
            let x2 = group > 2 ? x0 + inner * 4 : x0
            let x3 = group > 3 ? x0 + inner * 6 : x0
            var a0 = SIMD8<Int32>(), a1 = SIMD8<Int32>(), a2 = SIMD8<Int32>(), a3 = SIMD8<Int32>()
            var k = 0
            while k < vectorEnd {
                let w = signExtendedPairs(row + k)
                @inline(__always) func products(_ x: UnsafeRawPointer) -> SIMD8<Int32> {
                    let even = x.loadUnaligned(fromByteOffset: k * 2, as: SIMD16<Int16>.self)
                    let odd = x.loadUnaligned(fromByteOffset: k * 2 + 32, as: SIMD16<Int16>.self)
                    return pairwiseWiden(w.even &* even &+ w.odd &* odd)
                }
                a0 &+= products(x0)
                if group > 1 { a1 &+= products(x1) }
                if group > 2 { a2 &+= products(x2) }
                if group > 3 { a3 &+= products(x3) }
                k += int8ChunkSize
            }
            var sums = (a0.wrappedSum(), a1.wrappedSum(), a2.wrappedSum(), a3.wrappedSum())
            while k < inner {
                let w = Int32(weight.values[r * inner + k])
                sums.0 &+= w &* Int32(xWide[i * inner + k])
                if group > 1 { sums.1 &+= w &* Int32(xWide[(i + 1) * inner + k]) }
                if group > 2 { sums.2 &+= w &* Int32(xWide[(i + 2) * inner + k]) }
                if group > 3 { sums.3 &+= w &* Int32(xWide[(i + 3) * inner + k]) }
                k += 1
            }
            store(Float(sums.0) * scale * xScales[i], i, r)
            if group > 1 { store(Float(sums.1) * scale * xScales[i + 1], i + 1, r) }
            if group > 2 { store(Float(sums.2) * scale * xScales[i + 2], i + 2, r) }
            if group > 3 { store(Float(sums.3) * scale * xScales[i + 3], i + 3, r) }
            i += group
        }
    }
}

/// Rounds to the nearest integer (ties to even) for |x| < 2^22, by adding 1.5·2^23 and
/// reading the integer out of the mantissa: no call into the stdlib's generic conversions.
@inline(__always)
public func roundToInt32(_ x: Float) -> Int32 {
    Int32(bitPattern: (x + 12_582_912).bitPattern) &- 0x4B40_0000
}

/// Quantizes `rows` activation rows (symmetric per row, like the weights) to Int16 lanes
/// in the chunked even/odd layout `matmulInt8` reads.
public func quantizeActivations(
    _ x: UnsafePointer<Float>, rows: Int, count: Int, wide: UnsafeMutablePointer<Int16>, scales: UnsafeMutablePointer<Float>
) {
    let vectorEnd = (count / int8ChunkSize) * int8ChunkSize
    for i in 0..<rows {
        let row = x + i * count
        var maximum: Float = 0
        for k in 0..<count { maximum = max(maximum, abs(row[k])) }
        let s = maximum / 127
        scales[i] = s
        let inverse: Float = s > 0 ? 1 / s : 0
        let out = wide + i * count
        @inline(__always) func q(_ k: Int) -> Int16 { Int16(truncatingIfNeeded: roundToInt32(row[k] * inverse)) }
        var chunk = 0
        while chunk < vectorEnd {
            for j in 0..<(int8ChunkSize / 2) {
                out[chunk + j] = q(chunk + 2 * j)
                out[chunk + int8ChunkSize / 2 + j] = q(chunk + 2 * j + 1)
            }
            chunk += int8ChunkSize
        }
        for k in vectorEnd..<count { out[k] = q(k) }
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
