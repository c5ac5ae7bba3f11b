#if arch(x86_64)
    import X86Intrinsics
    import X86AVX512
#endif

/// Activation rows quantized to int8 for a `Q4Matrix` product (symmetric per row, as for int8
/// weights: the largest magnitude maps to 127), padded with zeros to the matrix's
/// `paddedColumns`, with each group's Σ x (to take the weights' zero points out:
/// Σ (q − z)·x = Σ q·x − z·Σ x). One layout for every kernel. The memory is the caller's.
public struct Q4Activations {
    public let rows: Int
    public let columns: Int
    public let paddedColumns: Int
    public let groupSize: Int
    /// Group sums per row, padded with zeros to a multiple of 4 (the kernels read four at a time).
    public let groupStride: Int
    /// rows × paddedColumns values in −127...127.
    public let values: UnsafeMutablePointer<Int8>
    /// One scale per row.
    public let scales: UnsafeMutablePointer<Float>
    /// rows × groupStride sums.
    public let groupSums: UnsafeMutablePointer<Int32>

    /// Bytes `memory` needs for `init(quantizing:...)`.
    public static func byteCount(rows: Int, columns: Int, groupSize: Int) -> Int {
        let padded = Q4Matrix.paddedColumns(columns)
        let stride = (padded / groupSize + 3) / 4 * 4
        return rows * stride * 4 + (rows * 4 + 63) / 64 * 64 + rows * padded
    }

    /// Quantizes `rows` rows of `columns` floats from `x` into `memory` (64-byte aligned,
    /// `byteCount` bytes).
    public init(
        quantizing x: UnsafePointer<Float>, rows: Int, columns: Int, groupSize: Int, memory: UnsafeMutableRawPointer
    ) {
        self.rows = rows
        self.columns = columns
        self.groupSize = groupSize
        paddedColumns = Q4Matrix.paddedColumns(columns)
        let groups = paddedColumns / groupSize
        groupStride = (groups + 3) / 4 * 4
        groupSums = memory.bindMemory(to: Int32.self, capacity: rows * groupStride)
        let scaleBytes = (rows * 4 + 63) / 64 * 64
        scales = (memory + rows * groupStride * 4).bindMemory(to: Float.self, capacity: rows)
        values = (memory + rows * groupStride * 4 + scaleBytes).bindMemory(
            to: Int8.self, capacity: rows * paddedColumns)
        for i in 0..<rows {
            let row = x + i * columns
            let out = values + i * paddedColumns
            let sums = groupSums + i * groupStride
            var maximum: Float = 0
            for k in 0..<columns { maximum = max(maximum, abs(row[k])) }
            let s = maximum / 127
            scales[i] = s
            let inverse: Float = s > 0 ? 1 / s : 0
            for k in 0..<columns { out[k] = Int8(truncatingIfNeeded: roundToInt32(row[k] * inverse)) }
            for k in columns..<paddedColumns { out[k] = 0 }
            for g in 0..<groupStride {
                var sum: Int32 = 0
                if g < groups {
                    for k in (g * groupSize)..<((g + 1) * groupSize) { sum &+= Int32(truncatingIfNeeded: out[k]) }
                }
                sums[g] = sum
            }
        }
    }
}

/// y[i, r] (=|+=) x.scales[i] · Σ_g scale[r, g] · S[i, r, g], where S[i, r, g] =
/// Σ_{k in group g} (q[r, k] − zero[r, g]) · x[i, k] exactly in integers, for weight rows
/// `rowRange` and every activation row, on `kernel`.
///
/// Every kernel computes the same integer S and then the same float arithmetic: groups taken
/// four at a time, S·scale fused-added into four float lanes (lane j: groups j, j + 4, ...),
/// the lanes summed as (l0 + l1) + (l2 + l3), times the activation scale. So every kernel
/// gives the same floats. Weight rows go one after another, each against up to four
/// activation rows at a time, unpacked once for them, over blocks of weight rows that stay in L1.
public func matmulQ4(
    y: UnsafeMutablePointer<Float>, yStride: Int, x: Q4Activations, weight: Q4Matrix, rowRange: Range<Int>,
    accumulate: Bool,
    kernel: Int8Kernel = .selected
) {
    precondition(x.paddedColumns == weight.paddedColumns && x.groupSize == weight.groupSize)
    #if arch(x86_64)
        if kernel == .avx512VNNI {
            q4ProductVNNI(
                y: y, yStride: yStride, x: x.values, xScales: x.scales, xGroupSums: x.groupSums,
                groupStride: x.groupStride,
                activations: x.rows, packed: weight.packed, scales: weight.scales, zeroPoints: weight.zeroPoints,
                columns: weight.paddedColumns, groupSize: weight.groupSize, rowRange: rowRange, accumulate: accumulate)
            return
        }
        let o = Q4Operands(y: y, yStride: yStride, x: x, weight: weight, accumulate: accumulate)
        // A block of weight rows stays in L1 while every group of four activation rows runs over it.
        let blockRows = max(1, (16 << 10) / max(1, weight.paddedColumns / 2))
        var start = rowRange.lowerBound
        while start < rowRange.upperBound {
            let rows = start..<min(start + blockRows, rowRange.upperBound)
            var i = 0
            while i + 4 <= x.rows {
                q4Rows4(o, rows: rows, i: i)
                i += 4
            }
            switch x.rows - i {
            case 3: q4Rows3(o, rows: rows, i: i)
            case 2: q4Rows2(o, rows: rows, i: i)
            case 1: q4Rows1(o, rows: rows, i: i)
            default: break
            }
            start = rows.upperBound
        }
    #else
        for r in rowRange {
            for i in 0..<x.rows {
                q4Portable(y: y, yStride: yStride, x: x, weight: weight, r: r, i: i, accumulate: accumulate)
            }
        }
    #endif
}

#if arch(x86_64)
    // One function per tile height, never inlined: all four inlined into one function, the
    // compiler stops inlining the loads inside them and spills the accumulators.
    @inline(never) private func q4Rows1(_ o: Q4Operands, rows: Range<Int>, i: Int) {
        for r in rows { q4RowTile(1, o, r: r, i: i) }
    }
    @inline(never) private func q4Rows2(_ o: Q4Operands, rows: Range<Int>, i: Int) {
        for r in rows { q4RowTile(2, o, r: r, i: i) }
    }
    @inline(never) private func q4Rows3(_ o: Q4Operands, rows: Range<Int>, i: Int) {
        for r in rows { q4RowTile(3, o, r: r, i: i) }
    }
    @inline(never) private func q4Rows4(_ o: Q4Operands, rows: Range<Int>, i: Int) {
        for r in rows { q4RowTile(4, o, r: r, i: i) }
    }

    /// What every AVX2 tile reads and writes, passed as one value.
    private struct Q4Operands {
        let y: UnsafeMutablePointer<Float>, yStride: Int
        let x: UnsafePointer<Int8>, xScales: UnsafePointer<Float>, xGroupSums: UnsafePointer<Int32>, groupStride: Int
        let packed: UnsafePointer<UInt8>, scales: UnsafePointer<UInt16>, zeroPoints: UnsafePointer<UInt8>?
        let columns: Int, groupSize: Int, accumulate: Bool

        init(y: UnsafeMutablePointer<Float>, yStride: Int, x: Q4Activations, weight: Q4Matrix, accumulate: Bool) {
            self.y = y
            self.yStride = yStride
            self.x = UnsafePointer(x.values)
            xScales = UnsafePointer(x.scales)
            xGroupSums = UnsafePointer(x.groupSums)
            groupStride = x.groupStride
            packed = weight.packed
            scales = weight.scales
            zeroPoints = weight.zeroPoints
            columns = weight.paddedColumns
            groupSize = weight.groupSize
            self.accumulate = accumulate
        }
    }

    /// y[i..<i+G, r] for G ≤ 4 activation rows on AVX2: per 64 columns one 32-byte load of
    /// weights split into its two nibble halves, then per activation row and 32 columns a
    /// vpmaddubsw (unsigned 4-bit times signed int8, in pairs) and a vpmaddwd by ones (into Int32
    /// lanes); four groups' sums at a time come out of one horizontal-add tree and are scaled
    /// together, as in the VNNI kernel (Sources/X86AVX512/Q4ProductVNNI.swift, the same loop
    /// with vpdpbusd). G is a literal at every call site, so each guard folds away.
    @inline(__always)
    private func q4RowTile(_ G: Int, _ o: Q4Operands, r: Int, i: Int) {
        let columns = o.columns
        let groups = columns / o.groupSize
        let w = UnsafeRawPointer(o.packed) + r &* (columns &>> 1)
        // The row `q4PrefetchDistance` bytes ahead, into L2 (a hint: past the end it never faults).
        var line = w + q4PrefetchDistance
        let lineEnd = line + (columns &>> 1)
        while line < lineEnd {
            prefetchIntoL2(line)
            line += 64
        }
        let x0 = UnsafeRawPointer(o.x) + i &* columns
        let x1 = x0 + (G > 1 ? columns : 0)
        let x2 = x0 + (G > 2 ? 2 &* columns : 0)
        let x3 = x0 + (G > 3 ? 3 &* columns : 0)
        let s0 = UnsafeRawPointer(o.xGroupSums + i &* o.groupStride)
        let stride = o.groupStride &* 4
        let s1 = s0 + (G > 1 ? stride : 0)
        let s2 = s0 + (G > 2 ? 2 &* stride : 0)
        let s3 = s0 + (G > 3 ? 3 &* stride : 0)
        let at = r &* groups
        let scales = UnsafeRawPointer(o.scales + at)
        let zeros = o.zeroPoints.map { UnsafeRawPointer($0 + at) }
        let mask = SIMD8<Int32>(repeating: 0x0F0F_0F0F)
        @inline(__always) func nibbles(_ offset: Int) -> (low: SIMD8<Int32>, high: SIMD8<Int32>) {
            let v = w.loadUnaligned(fromByteOffset: offset, as: SIMD8<Int32>.self)
            return (v & mask, (v &>> 4) & mask)
        }
        let ones = SIMD16<Int16>(repeating: 1)
        // acc + Σ q·x in Int32 lanes: vpmaddubsw into Int16 pairs, vpmaddwd by ones into Int32 lanes.
        @inline(__always) func dot(
            _ acc: SIMD8<Int32>, _ q: SIMD8<Int32>, _ x: UnsafeRawPointer, _ k: Int
        ) -> SIMD8<Int32> {
            let pairs = multiplyAddUnsignedSignedPairs(q, x.loadUnaligned(fromByteOffset: k, as: SIMD8<Int32>.self))
            return acc &+ multiplyAddAdjacentPairs(pairs, ones)
        }
        var acc0 = SIMD4<Float>()
        var acc1 = SIMD4<Float>()
        var acc2 = SIMD4<Float>()
        var acc3 = SIMD4<Float>()
        /// Adds four groups' raw sums (g..<g+4) of every activation row, scaled, to the lanes.
        @inline(__always) func add(
            _ g: Int, zero z: SIMD4<Int32>, scale: SIMD4<Float>, _ sums: (UnsafeRawPointer) -> SIMD4<Int32>
        ) {
            @inline(__always) func one(_ acc: inout SIMD4<Float>, _ x: UnsafeRawPointer, _ s: UnsafeRawPointer) {
                let groupSums = s.loadUnaligned(fromByteOffset: g &* 4, as: SIMD4<Int32>.self)
                acc = fusedMultiplyAdd(acc, convertToFloat(sums(x) &- z &* groupSums), scale)
            }
            one(&acc0, x0, s0)
            if G > 1 { one(&acc1, x1, s1) }
            if G > 2 { one(&acc2, x2, s2) }
            if G > 3 { one(&acc3, x3, s3) }
        }
        @inline(__always) func constants(_ g: Int) -> (SIMD4<Int32>, SIMD4<Float>) {
            let z =
                zeros.map { widenBytes($0.loadUnaligned(fromByteOffset: g, as: SIMD4<UInt8>.self)) }
                ?? SIMD4(repeating: 8)
            return (z, widenHalfBits(scales.loadUnaligned(fromByteOffset: g &* 2, as: SIMD4<UInt16>.self)))
        }
        let fullEnd = groups & ~3
        var g = 0
        if o.groupSize == 32 {
            while g < fullEnd {
                let column = g &* 32
                let n0 = nibbles(column &>> 1)
                let n1 = nibbles((column &>> 1) &+ 32)
                let (z, scale) = constants(g)
                add(g, zero: z, scale: scale) { x in
                    horizontalSums(
                        dot(.zero, n0.low, x, column), dot(.zero, n0.high, x, column &+ 32),
                        dot(.zero, n1.low, x, column &+ 64), dot(.zero, n1.high, x, column &+ 96))
                }
                g &+= 4
            }
        } else {
            while g < fullEnd {
                let column = g &* 64
                let n0 = nibbles(column &>> 1)
                let n1 = nibbles((column &>> 1) &+ 32)
                let n2 = nibbles((column &>> 1) &+ 64)
                let n3 = nibbles((column &>> 1) &+ 96)
                let (z, scale) = constants(g)
                add(g, zero: z, scale: scale) { x in
                    @inline(__always) func group(_ n: (low: SIMD8<Int32>, high: SIMD8<Int32>), _ k: Int) -> SIMD8<Int32>
                    {
                        dot(dot(.zero, n.low, x, k), n.high, x, k &+ 32)
                    }
                    return horizontalSums(
                        group(n0, column), group(n1, column &+ 64),
                        group(n2, column &+ 128), group(n3, column &+ 192))
                }
                g &+= 4
            }
        }
        if g < groups {
            // The last one to three groups: each group's sum on its own, absent ones zero.
            let count = groups &- g
            @inline(__always) func group(_ j: Int, _ x: UnsafeRawPointer) -> SIMD8<Int32> {
                guard j < count else { return .zero }
                let h = g &+ j
                if o.groupSize == 64 {
                    let n = nibbles(h &* 32)
                    return dot(dot(.zero, n.low, x, h &* 64), n.high, x, h &* 64 &+ 32)
                }
                let n = nibbles((h &>> 1) &* 32)
                return dot(.zero, h & 1 == 0 ? n.low : n.high, x, h &* 32)
            }
            var z = SIMD4<UInt8>(repeating: 8)
            var bits = SIMD4<UInt16>()
            for j in 0..<count {
                if let zeros { z[j] = zeros.load(fromByteOffset: g &+ j, as: UInt8.self) }
                bits[j] = scales.load(fromByteOffset: (g &+ j) &* 2, as: UInt16.self)
            }
            add(g, zero: widenBytes(z), scale: widenHalfBits(bits)) { x in
                horizontalSums(group(0, x), group(1, x), group(2, x), group(3, x))
            }
        }
        @inline(__always) func store(_ n: Int, _ acc: SIMD4<Float>) {
            let value = ((acc[0] + acc[1]) + (acc[2] + acc[3])) * o.xScales[i &+ n]
            let out = o.y + ((i &+ n) &* o.yStride &+ r)
            out.pointee = o.accumulate ? out.pointee + value : value
        }
        store(0, acc0)
        if G > 1 { store(1, acc1) }
        if G > 2 { store(2, acc2) }
        if G > 3 { store(3, acc3) }
    }
#else
    /// The same sums and float arithmetic as the x86 kernels, one element at a time.
    private func q4Portable(
        y: UnsafeMutablePointer<Float>, yStride: Int, x: Q4Activations, weight: Q4Matrix, r: Int, i: Int,
        accumulate: Bool
    ) {
        var acc = SIMD4<Float>()
        for g in 0..<weight.groups {
            var sum: Int32 = 0
            for k in (g * weight.groupSize)..<((g + 1) * weight.groupSize) {
                sum &+= Int32(weight.integerValue(row: r, column: k)) &* Int32(x.values[i * x.paddedColumns + k])
            }
            acc[g % 4] = acc[g % 4].addingProduct(Float(sum), weight.scale(row: r, group: g))
        }
        let value = ((acc[0] + acc[1]) + (acc[2] + acc[3])) * x.scales[i]
        y[i * yStride + r] = accumulate ? y[i * yStride + r] + value : value
    }
#endif
