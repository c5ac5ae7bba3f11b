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
    /// Group sums per row, padded with zeros to a multiple of 8 (the kernels read eight at a time).
    public let groupStride: Int
    /// rows × paddedColumns values in −127...127.
    public let values: UnsafeMutablePointer<Int8>
    /// One scale per row.
    public let scales: UnsafeMutablePointer<Float>
    /// rows × groupStride sums, as floats (exact: at most 64 · 127 in magnitude).
    public let groupSums: UnsafeMutablePointer<Float>

    /// Group sums per row for `columns` input columns in groups of `groupSize`.
    public static func groupStride(columns: Int, groupSize: Int) -> Int {
        (Q4Matrix.paddedColumns(columns) / groupSize + 7) / 8 * 8
    }

    /// Bytes `memory` needs for `init(quantizing:...)`.
    public static func byteCount(rows: Int, columns: Int, groupSize: Int) -> Int {
        let padded = Q4Matrix.paddedColumns(columns)
        let stride = groupStride(columns: columns, groupSize: groupSize)
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
        groupStride = Q4Activations.groupStride(columns: columns, groupSize: groupSize)
        groupSums = memory.bindMemory(to: Float.self, capacity: rows * groupStride)
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
                sums[g] = Float(sum)
            }
        }
    }
}

/// y[i, r] (=|+=) x.scales[i] · Σ_g scale[r, g] · Σ_{k in group g} (q[r, k] − zero[r, g]) · x[i, k]
/// for weight rows `rowRange` and every activation row, on `kernel`.
///
/// Every kernel computes the same integers and then the same float arithmetic, so every kernel
/// gives the same floats (and an activation row the same whatever rows share its product):
/// - lanes: for each group g, eight Int32 sums L[g, j] = Σ q[r, k]·x[i, k] over the group's
///   columns k with (k % 32) / 4 == j (the raw stored values q, zero points not taken out);
/// - chains: four vectors of eight float lanes; group g goes to chain g % 4, in order of g, as
///   chain = fma(Float(L[g, ·]), scale[r, g], chain);
/// - zero points: eight float lanes Z; group g goes to lane g % 8 as
///   Z = fma(zero[r, g]·scale[r, g], Σx[i, group g], Z), groups in blocks of eight, every lane of
///   the last block taken (zeros past the last group);
/// - y = sumLanes(((c0 + c1) + (c2 + c3)) − Z) · x.scales[i], `sumLanes` as in X86Intrinsics
///   (a fixed order).
/// Weight rows go one after another, each against up to four activation rows at a time
/// (two on AVX2, which has half the registers), unpacked once for them, over blocks of weight
/// rows that stay in L1.
public func matmulQ4(
    y: UnsafeMutablePointer<Float>, yStride: Int, x: Q4Activations, weight: Q4Matrix, rowRange: Range<Int>,
    accumulate: Bool,
    kernel: Int8Kernel = .selected
) {
    precondition(x.paddedColumns == weight.paddedColumns && x.groupSize == weight.groupSize)
    #if arch(x86_64)
        ThreadScratch.withFloats(
            .q4RowScales, count: q4ScaleScratchCount(columns: weight.paddedColumns, groupStride: x.groupStride)
        ) { rowScales in
            if kernel == .avx512VNNI {
                q4ProductVNNI(
                    y: y, yStride: yStride, x: x.values, xScales: x.scales, xGroupSums: x.groupSums,
                    groupStride: x.groupStride, activations: x.rows, packed: weight.packed, scales: weight.scales,
                    zeroPoints: weight.zeroPoints, columns: weight.paddedColumns, groupSize: weight.groupSize,
                    rowScales: rowScales, rowRange: rowRange, accumulate: accumulate)
                return
            }
            let o = Q4Operands(
                y: y, yStride: yStride, x: x, weight: weight, rowScales: rowScales, accumulate: accumulate)
            // A block of weight rows stays in L1 while every pair of activation rows runs over it.
            let blockRows = max(1, (16 << 10) / max(1, weight.paddedColumns / 2))
            var start = rowRange.lowerBound
            while start < rowRange.upperBound {
                let rows = start..<min(start + blockRows, rowRange.upperBound)
                var i = 0
                while i + 2 <= x.rows {
                    q4Rows2(o, rows: rows, i: i)
                    i += 2
                }
                if i < x.rows { q4Rows1(o, rows: rows, i: i) }
                start = rows.upperBound
            }
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
    // One function per tile height, never inlined: both inlined into one function, the
    // compiler stops inlining the loads inside them and spills the accumulators.
    @inline(never) private func q4Rows1(_ o: Q4Operands, rows: Range<Int>, i: Int) {
        for r in rows { q4RowTile(1, o, r: r, i: i) }
    }
    @inline(never) private func q4Rows2(_ o: Q4Operands, rows: Range<Int>, i: Int) {
        for r in rows { q4RowTile(2, o, r: r, i: i) }
    }

    /// What every AVX2 tile reads and writes, passed as one value.
    private struct Q4Operands {
        let y: UnsafeMutablePointer<Float>, yStride: Int
        let x: UnsafePointer<Int8>, xScales: UnsafePointer<Float>, xGroupSums: UnsafePointer<Float>, groupStride: Int
        let packed: UnsafePointer<UInt8>, scales: UnsafePointer<UInt16>, zeroPoints: UnsafePointer<UInt8>?
        let columns: Int, groupSize: Int, rowScales: UnsafeMutablePointer<Float>, accumulate: Bool

        init(
            y: UnsafeMutablePointer<Float>, yStride: Int, x: Q4Activations, weight: Q4Matrix,
            rowScales: UnsafeMutablePointer<Float>, accumulate: Bool
        ) {
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
            self.rowScales = rowScales
            self.accumulate = accumulate
        }
    }

    /// y[i..<i+G, r] for G ≤ 2 activation rows on AVX2, in `matmulQ4`'s order: the row's scales
    /// as floats into `rowScales` (with the zero points' share per activation row), then per 64
    /// columns one 32-byte load of weights split into its two nibble halves, and per activation
    /// row and group a vpmaddubsw (unsigned 4-bit times signed int8, in pairs) and a vpmaddwd
    /// by ones into eight Int32 lanes, converted and fused-multiply-added by the group's scale
    /// into the row's chains, as in the VNNI kernel (Sources/X86AVX512/Q4ProductVNNI.swift, the
    /// same loop with vpdpbusd). G is a literal at every call site, so each guard folds away.
    @inline(__always)
    private func q4RowTile(_ G: Int, _ o: Q4Operands, r: Int, i: Int) {
        let columns = o.columns
        let groupSize = o.groupSize
        let groups = columns / groupSize
        let w = UnsafeRawPointer(o.packed) + r &* (columns &>> 1)
        let x0 = UnsafeRawPointer(o.x) + i &* columns
        let x1 = x0 + (G > 1 ? columns : 0)
        let sums0 = UnsafeRawPointer(o.xGroupSums + i &* o.groupStride)
        let sums1 = sums0 + (G > 1 ? o.groupStride &* 4 : 0)
        let rowScales = o.rowScales

        // The scales as floats, and Σ_g zero·scale·Σx in eight lanes (lane j: groups j, j + 8, ...).
        let halfs = UnsafeRawPointer(o.scales + r &* groups)
        let zeros = o.zeroPoints.map { UnsafeRawPointer($0 + r &* groups) }
        var z0 = SIMD8<Float>()
        var z1 = SIMD8<Float>()
        var g = 0
        while g < groups {
            var bits = SIMD8<UInt16>()
            var zeroBytes = SIMD8<UInt8>(repeating: 8)
            if g &+ 8 <= groups {
                bits = halfs.loadUnaligned(fromByteOffset: g &* 2, as: SIMD8<UInt16>.self)
                if let zeros { zeroBytes = zeros.loadUnaligned(fromByteOffset: g, as: SIMD8<UInt8>.self) }
            } else {
                for j in 0..<(groups &- g) {
                    bits[j] = halfs.load(fromByteOffset: (g &+ j) &* 2, as: UInt16.self)
                    if let zeros { zeroBytes[j] = zeros.load(fromByteOffset: g &+ j, as: UInt8.self) }
                }
            }
            let scale = widenHalfBits(bits)
            UnsafeMutableRawPointer(rowScales + g).storeBytes(of: scale, as: SIMD8<Float>.self)
            let zeroScale = widenBytesToFloat(zeroBytes) * scale
            z0 = fusedMultiplyAdd(z0, zeroScale, sums0.loadUnaligned(fromByteOffset: g &* 4, as: SIMD8<Float>.self))
            if G > 1 {
                z1 = fusedMultiplyAdd(
                    z1, zeroScale, sums1.loadUnaligned(fromByteOffset: g &* 4, as: SIMD8<Float>.self))
            }
            g &+= 8
        }

        var a0 = Q4Chains()
        var a1 = Q4Chains()
        let ones = SIMD16<Int16>(repeating: 1)
        /// Adds group `group` (chain `chain`) of every activation row: `pairs(x)` is its Int16 pairs.
        @inline(__always) func add(_ chain: Int, group: Int, _ pairs: (UnsafeRawPointer) -> SIMD16<Int16>) {
            let scale = rowScales[group]
            a0.add(chain, multiplyAddAdjacentPairs(pairs(x0), ones), scale)
            if G > 1 { a1.add(chain, multiplyAddAdjacentPairs(pairs(x1), ones), scale) }
        }
        @inline(__always) func products(_ q: SIMD8<Int32>, _ x: UnsafeRawPointer, _ k: Int) -> SIMD16<Int16> {
            multiplyAddUnsignedSignedPairs(q, x.loadUnaligned(fromByteOffset: k, as: SIMD8<Int32>.self))
        }
        let mask = SIMD8<Int32>(repeating: 0x0F0F_0F0F)
        @inline(__always) func nibbles(_ chunk: Int) -> (low: SIMD8<Int32>, high: SIMD8<Int32>) {
            let v = w.loadUnaligned(fromByteOffset: chunk &* 32, as: SIMD8<Int32>.self)
            return (v & mask, (v &>> 4) & mask)
        }
        let chunks = columns &>> 6
        var chunk = 0
        if groupSize == 32 {
            /// Chunk `c` (64 columns) as groups 2c and 2c + 1, on chains `chain` and `chain` + 1.
            @inline(__always) func pair(_ c: Int, chain: Int) {
                let n = nibbles(c)
                add(chain, group: c &* 2) { x in products(n.low, x, c &* 64) }
                add(chain &+ 1, group: c &* 2 &+ 1) { x in products(n.high, x, c &* 64 &+ 32) }
            }
            while chunk &+ 2 <= chunks {
                pair(chunk, chain: 0)
                pair(chunk &+ 1, chain: 2)
                chunk &+= 2
            }
            if chunk < chunks { pair(chunk, chain: 0) }
        } else {
            /// Chunk `c` (64 columns) as group c, on chain `chain`: both halves' pairs added in Int16
            /// (at most 4 · 15 · 127), then widened once.
            @inline(__always) func one(_ c: Int, chain: Int) {
                let n = nibbles(c)
                add(chain, group: c) { x in products(n.low, x, c &* 64) &+ products(n.high, x, c &* 64 &+ 32) }
            }
            while chunk &+ 4 <= chunks {
                one(chunk, chain: 0)
                one(chunk &+ 1, chain: 1)
                one(chunk &+ 2, chain: 2)
                one(chunk &+ 3, chain: 3)
                chunk &+= 4
            }
            if chunk < chunks { one(chunk, chain: 0) }
            if chunk &+ 1 < chunks { one(chunk &+ 1, chain: 1) }
            if chunk &+ 2 < chunks { one(chunk &+ 2, chain: 2) }
        }

        @inline(__always) func store(_ n: Int, _ chains: Q4Chains, _ zeroShare: SIMD8<Float>) {
            let value = sumLanes(chains.sum - zeroShare) * o.xScales[i &+ n]
            let out = o.y + ((i &+ n) &* o.yStride &+ r)
            out.pointee = o.accumulate ? out.pointee + value : value
        }
        store(0, a0, z0)
        if G > 1 { store(1, a1, z1) }
    }
#else
    /// The same sums and float arithmetic as the x86 kernels, one element at a time.
    private func q4Portable(
        y: UnsafeMutablePointer<Float>, yStride: Int, x: Q4Activations, weight: Q4Matrix, r: Int, i: Int,
        accumulate: Bool
    ) {
        var chains = [[Float]](repeating: [Float](repeating: 0, count: 8), count: 4)
        var zeroShare = [Float](repeating: 0, count: 8)
        for g in 0..<x.groupStride {
            let inRow = g < weight.groups
            let scale = inRow ? weight.scale(row: r, group: g) : 0
            let zero = Float(inRow ? weight.zeroPoint(row: r, group: g) : 8)
            zeroShare[g % 8] = zeroShare[g % 8].addingProduct(zero * scale, x.groupSums[i * x.groupStride + g])
            guard inRow else { continue }
            for j in 0..<8 {
                var sum: Int32 = 0
                for k in (g * weight.groupSize)..<((g + 1) * weight.groupSize) where (k % 32) / 4 == j {
                    sum &+= Int32(weight.storedValue(row: r, column: k)) &* Int32(x.values[i * x.paddedColumns + k])
                }
                chains[g % 4][j] = chains[g % 4][j].addingProduct(Float(sum), scale)
            }
        }
        func sumLanes(_ v: [Float]) -> Float { ((v[0] + v[4]) + (v[2] + v[6])) + ((v[1] + v[5]) + (v[3] + v[7])) }
        let lanes = (0..<8).map { (j: Int) -> Float in
            let sum: Float = (chains[0][j] + chains[1][j]) + (chains[2][j] + chains[3][j])
            return sum - zeroShare[j]
        }
        let value = sumLanes(lanes) * x.scales[i]
        y[i * yStride + r] = accumulate ? y[i * yStride + r] + value : value
    }
#endif
