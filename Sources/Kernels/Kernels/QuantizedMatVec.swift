#if arch(x86_64)
    import X86Intrinsics
    import X86AVX512
#endif

/// Products with int8 and f16 weight rows, for one or a few rows of activations
/// (decode, batched decode). Each weight row is read once and used for every
/// activation row while it is in L1.

/// Σ w[k]·x[k] for int8 weights and int8 activations held as Int16, exactly (|w·x| ≤ 127²).
///
/// A plain loop on purpose. The Kernels target is compiled with
/// `-Xllvm -force-vector-width=16` (Package.swift), under which LLVM turns it into the
/// ideal AVX2 inner loop: per 32 weights, two vpmovsxbw (int8 -> int16, from memory),
/// two vpmaddwd (16 products summed in pairs into 8 Int32 lanes) and two vpaddd. Swift
/// SIMD types cannot express vpmaddwd, and written with them the widening and pairwise
/// sums take twice the instructions, which makes the product compute-bound.
@inline(__always)
func dotInt8(_ w: UnsafePointer<Int8>, _ x: UnsafePointer<Int16>, count: Int) -> Int32 {
    var sum: Int32 = 0
    for k in 0..<count { sum &+= Int32(truncatingIfNeeded: w[k]) &* Int32(truncatingIfNeeded: x[k]) }
    return sum
}

/// Activation rows quantized to int8 (symmetric per row, like the weights: the largest
/// magnitude maps to 127) in the form one `Int8Kernel` reads: Int16 lanes for AVX2, the
/// value plus 128 in a byte for VNNI. The memory is the caller's.
public struct QuantizedActivations {
    public let kernel: Int8Kernel
    public let rows: Int
    public let columns: Int
    /// rows × columns values, `kernel.bytesPerActivation` bytes each.
    public let values: UnsafeMutableRawPointer
    /// One scale per row.
    public let scales: UnsafeMutablePointer<Float>

    /// Bytes `values` needs.
    public static func byteCount(rows: Int, columns: Int, kernel: Int8Kernel) -> Int {
        rows * columns * kernel.bytesPerActivation
    }

    /// Quantizes `rows` rows of `columns` floats from `x` into `values` and `scales`.
    public init(
        quantizing x: UnsafePointer<Float>, rows: Int, columns: Int, kernel: Int8Kernel,
        values: UnsafeMutableRawPointer, scales: UnsafeMutablePointer<Float>
    ) {
        self.kernel = kernel
        self.rows = rows
        self.columns = columns
        self.values = values
        self.scales = scales
        let wide = values.assumingMemoryBound(to: Int16.self)
        let offset = values.assumingMemoryBound(to: UInt8.self)
        for i in 0..<rows {
            let row = x + i * columns
            var maximum: Float = 0
            for k in 0..<columns { maximum = max(maximum, abs(row[k])) }
            let s = maximum / 127
            scales[i] = s
            let inverse: Float = s > 0 ? 1 / s : 0
            switch kernel {
            case .avx2:
                let out = wide + i * columns
                for k in 0..<columns { out[k] = Int16(truncatingIfNeeded: roundToInt32(row[k] * inverse)) }
            case .avx512VNNI:
                let out = offset + i * columns
                for k in 0..<columns { out[k] = UInt8(truncatingIfNeeded: roundToInt32(row[k] * inverse) &+ 128) }
            }
        }
    }

    /// The int8 value of row i, column k (what every kernel multiplies by).
    public func value(row i: Int, column k: Int) -> Int32 {
        switch kernel {
        case .avx2: return Int32(values.assumingMemoryBound(to: Int16.self)[i * columns + k])
        case .avx512VNNI: return Int32(values.assumingMemoryBound(to: UInt8.self)[i * columns + k]) - 128
        }
    }
}

/// y[i, r] (=|+=) scales[r] · x.scales[i] · Σ_k W[r, k] · x[i, k] for weight rows `rowRange`
/// and activation rows i in 0..<x.rows, on the kernel `x` was quantized for.
///
/// The integer sums are exact on every path, so every kernel and tile shape gives the same
/// floats. AVX2: up to `int8TileMinimumRows - 1` activation rows (decode, batched decode,
/// beams) take each weight row once from memory and reuse it from L1 for every activation
/// row; more (a prompt, a batch of 16 sentences) go through tiles of four weight rows by two
/// activation rows, where each weight vector is widened once for both rows instead of once
/// per product. VNNI: tiles of four by four at any row count (Sources/X86AVX512).
public func matmulInt8(
    y: UnsafeMutablePointer<Float>, yStride: Int, x: QuantizedActivations, weight: Int8Matrix, rowRange: Range<Int>,
    accumulate: Bool
) {
    precondition(x.columns == weight.columns)
    let activations = x.rows
    let xScales = UnsafePointer(x.scales)
    #if arch(x86_64)
        if x.kernel == .avx512VNNI {
            int8ProductVNNI(
                y: y, yStride: yStride, x: x.values.assumingMemoryBound(to: UInt8.self), xScales: xScales,
                activations: activations,
                weights: weight.values, weightScales: weight.scales, weightSums: weight.rowSums,
                columns: weight.columns,
                rowRange: rowRange, accumulate: accumulate)
            return
        }
    #endif
    let xWide = UnsafePointer(x.values.assumingMemoryBound(to: Int16.self))
    #if arch(x86_64)
        if activations >= int8TileMinimumRows {
            var r = rowRange.lowerBound
            while r + 4 <= rowRange.upperBound {
                int8Tiles(
                    4, y: y, yStride: yStride, xWide: xWide, xScales: xScales, activations: activations, weight: weight,
                    r: r, accumulate: accumulate)
                r += 4
            }
            while r < rowRange.upperBound {
                int8Tiles(
                    1, y: y, yStride: yStride, xWide: xWide, xScales: xScales, activations: activations, weight: weight,
                    r: r, accumulate: accumulate)
                r += 1
            }
            return
        }
    #endif
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

/// Where the AVX2 tiles start to pay: below it (4 rows) they lose, at 8 they break even.
public let int8TileMinimumRows = 16

#if arch(x86_64)
    /// Weight rows r..<r+P against every activation row, two at a time.
    @inline(__always)
    private func int8Tiles(
        _ P: Int, y: UnsafeMutablePointer<Float>, yStride: Int, xWide: UnsafePointer<Int16>,
        xScales: UnsafePointer<Float>,
        activations: Int, weight: Int8Matrix, r: Int, accumulate: Bool
    ) {
        var i = 0
        while i + 2 <= activations {
            int8Tile(
                P, 2, y: y, yStride: yStride, xWide: xWide, xScales: xScales, weight: weight, r: r, i: i,
                accumulate: accumulate)
            i += 2
        }
        if i < activations {
            int8Tile(
                P, 1, y: y, yStride: yStride, xWide: xWide, xScales: xScales, weight: weight, r: r, i: i,
                accumulate: accumulate)
        }
    }

    /// y[i..<i+G, r..<r+P] for P ≤ 4 weight rows and G ≤ 2 activation rows: per 16 columns,
    /// P widenings (vpmovsxbw), G loads and P·G vpmaddwd into P·G Int32 accumulators, which
    /// with the P weight vectors fit AVX2's 16 registers. P and G are literals at every call
    /// site (the function is always inlined), so each guard folds away and every tile shape
    /// gets its own loop.
    @inline(__always)
    private func int8Tile(
        _ P: Int, _ G: Int, y: UnsafeMutablePointer<Float>, yStride: Int, xWide: UnsafePointer<Int16>,
        xScales: UnsafePointer<Float>,
        weight: Int8Matrix, r: Int, i: Int, accumulate: Bool
    ) {
        let inner = weight.columns
        let vectorEnd = (inner / 16) * 16
        let w0 = UnsafeRawPointer(weight.values + r * inner)
        let w1 = w0 + (P > 1 ? inner : 0)
        let w2 = w0 + (P > 2 ? 2 * inner : 0)
        let w3 = w0 + (P > 3 ? 3 * inner : 0)
        let x0 = UnsafeRawPointer(xWide + i * inner)
        let x1 = x0 + (G > 1 ? 2 * inner : 0)
        var a00 = SIMD8<Int32>()
        var a01 = SIMD8<Int32>()
        var a02 = SIMD8<Int32>()
        var a03 = SIMD8<Int32>()
        var a10 = SIMD8<Int32>()
        var a11 = SIMD8<Int32>()
        var a12 = SIMD8<Int32>()
        var a13 = SIMD8<Int32>()
        @inline(__always) func weights(_ w: UnsafeRawPointer, _ k: Int) -> SIMD16<Int16> {
            widenToInt16(w.loadUnaligned(fromByteOffset: k, as: SIMD16<Int8>.self))
        }
        var k = 0
        while k < vectorEnd {
            let v0 = weights(w0, k)
            let v1 = P > 1 ? weights(w1, k) : SIMD16<Int16>()
            let v2 = P > 2 ? weights(w2, k) : SIMD16<Int16>()
            let v3 = P > 3 ? weights(w3, k) : SIMD16<Int16>()
            let u0 = x0.loadUnaligned(fromByteOffset: 2 * k, as: SIMD16<Int16>.self)
            a00 &+= multiplyAddAdjacentPairs(u0, v0)
            if P > 1 { a01 &+= multiplyAddAdjacentPairs(u0, v1) }
            if P > 2 { a02 &+= multiplyAddAdjacentPairs(u0, v2) }
            if P > 3 { a03 &+= multiplyAddAdjacentPairs(u0, v3) }
            if G > 1 {
                let u1 = x1.loadUnaligned(fromByteOffset: 2 * k, as: SIMD16<Int16>.self)
                a10 &+= multiplyAddAdjacentPairs(u1, v0)
                if P > 1 { a11 &+= multiplyAddAdjacentPairs(u1, v1) }
                if P > 2 { a12 &+= multiplyAddAdjacentPairs(u1, v2) }
                if P > 3 { a13 &+= multiplyAddAdjacentPairs(u1, v3) }
            }
            k += 16
        }
        @inline(__always) func finish(_ g: Int, _ q: Int, _ partial: SIMD8<Int32>) {
            let row = weight.values + (r + q) * inner
            let x = xWide + (i + g) * inner
            var sum = partial.wrappedSum()
            for t in vectorEnd..<inner { sum &+= Int32(truncatingIfNeeded: row[t]) &* Int32(truncatingIfNeeded: x[t]) }
            let value = Float(sum) * weight.scales[r + q] * xScales[i + g]
            let out = y + (i + g) * yStride + r + q
            out.pointee = accumulate ? out.pointee + value : value
        }
        finish(0, 0, a00)
        if P > 1 { finish(0, 1, a01) }
        if P > 2 { finish(0, 2, a02) }
        if P > 3 { finish(0, 3, a03) }
        if G > 1 {
            finish(1, 0, a10)
            if P > 1 { finish(1, 1, a11) }
            if P > 2 { finish(1, 2, a12) }
            if P > 3 { finish(1, 3, a13) }
        }
    }
#endif

/// Rounds to the nearest integer (ties to even) for |x| < 2^22, by adding 1.5·2^23 and
/// reading the integer out of the mantissa: no call into the stdlib's generic conversions.
@inline(__always)
public func roundToInt32(_ x: Float) -> Int32 {
    Int32(bitPattern: (x + 12_582_912).bitPattern) &- 0x4B40_0000
}

/// Σ x[k]·W[k] with W in half precision, widened 8 at a time (vcvtph2ps with F16C).
@inline(__always)
public func dotHalf(_ x: UnsafePointer<Float>, _ w: UnsafePointer<UInt16>, count: Int) -> Float {
    var acc0 = SIMD8<Float>()
    var acc1 = SIMD8<Float>()
    let rx = UnsafeRawPointer(x)
    let rw = UnsafeRawPointer(w)
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
