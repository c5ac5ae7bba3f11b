/// Products with int8 and f16 weight rows, for one or a few rows of activations
/// (decode, batched decode). Each weight row is read once and used for every
/// activation row while it is in L1.

/// Σ a[k]·b[k] over int8 vectors, accumulated exactly in Int32.
///
/// Written so LLVM emits vpmovsxbw + vpmaddwd (16 products and pairwise sums
/// per instruction pair); |a·b| ≤ 127² · count fits Int32 for count < 133,000.
@inline(__always)
public func dotInt8(_ a: UnsafePointer<Int8>, _ b: UnsafePointer<Int8>, count: Int) -> Int32 {
    var acc0 = SIMD8<Int32>(), acc1 = SIMD8<Int32>()
    let ra = UnsafeRawPointer(a), rb = UnsafeRawPointer(b)
    var i = 0
    while i + 32 <= count {
        let a0 = SIMD16<Int16>(truncatingIfNeeded: ra.loadUnaligned(fromByteOffset: i, as: SIMD16<Int8>.self))
        let b0 = SIMD16<Int16>(truncatingIfNeeded: rb.loadUnaligned(fromByteOffset: i, as: SIMD16<Int8>.self))
        let a1 = SIMD16<Int16>(truncatingIfNeeded: ra.loadUnaligned(fromByteOffset: i + 16, as: SIMD16<Int8>.self))
        let b1 = SIMD16<Int16>(truncatingIfNeeded: rb.loadUnaligned(fromByteOffset: i + 16, as: SIMD16<Int8>.self))
        acc0 &+= SIMD8<Int32>(truncatingIfNeeded: a0.evenHalf) &* SIMD8<Int32>(truncatingIfNeeded: b0.evenHalf)
            &+ SIMD8<Int32>(truncatingIfNeeded: a0.oddHalf) &* SIMD8<Int32>(truncatingIfNeeded: b0.oddHalf)
        acc1 &+= SIMD8<Int32>(truncatingIfNeeded: a1.evenHalf) &* SIMD8<Int32>(truncatingIfNeeded: b1.evenHalf)
            &+ SIMD8<Int32>(truncatingIfNeeded: a1.oddHalf) &* SIMD8<Int32>(truncatingIfNeeded: b1.oddHalf)
        i += 32
    }
    var sum = (acc0 &+ acc1).wrappedSum()
    while i < count {
        sum &+= Int32(a[i]) &* Int32(b[i])
        i += 1
    }
    return sum
}

/// y[i, r] (=|+=) scales[r] · xScale[i] · Σ_k W[r, k] · xq[i, k] for weight rows `rowRange`
/// and activation rows i in 0..<activations (each `inner` long, quantized by `quantizeRow`).
public func matmulInt8(
    y: UnsafeMutablePointer<Float>, yStride: Int, xq: UnsafePointer<Int8>, xScales: UnsafePointer<Float>, activations: Int,
    weight: Int8Matrix, rowRange: Range<Int>, accumulate: Bool
) {
    let inner = weight.columns
    for r in rowRange {
        let row = weight.values + r * inner
        let scale = weight.scales[r]
        for i in 0..<activations {
            let value = Float(dotInt8(row, xq + i * inner, count: inner)) * scale * xScales[i]
            let out = y + i * yStride + r
            out.pointee = accumulate ? out.pointee + value : value
        }
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
