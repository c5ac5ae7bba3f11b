// The 4-bit weight product for CPUs with AVX-512 VNNI: vpdpbusd takes the weights' nibbles
// as its unsigned bytes and the int8 activations as its signed ones, 32 products per
// instruction where AVX2 needs a vpmaddubsw and a vpmaddwd. The layout and the float
// arithmetic are Kernels' (Sources/Kernels/Kernels/Q4MatVec.swift documents them), whose
// functions from X86Intrinsics this file calls too, so both kernels give the same floats.
import Swift
import X86Intrinsics

#if arch(x86_64)
    /// y[i, r] (=|+=) xScales[i] · Σ_g scale[r, g] · Σ_{k in g} (q[r, k] − zero[r, g]) · x[i, k],
    /// for weight rows `rowRange` and activation rows i in 0..<activations, in `matmulQ4`'s order.
    ///
    /// - x: activation rows of `columns` int8 values; xGroupSums: Σ x per group as floats,
    ///   `groupStride` (a multiple of 8, zeros past the last group) per row.
    /// - packed: weight rows of `columns / 2` bytes (Q4Matrix's layout); scales: f16 bits and
    ///   zeroPoints (nil: all 8) per row and group.
    /// - rowScales: `q4ScaleScratchCount` floats of scratch.
    ///
    /// Weight rows go in blocks of about `q4BlockBytes`: the block's scales are converted to
    /// floats first, then each row runs against the activation rows, up to four at a time.
    public func q4ProductVNNI(
        y: UnsafeMutablePointer<Float>, yStride: Int,
        x: UnsafePointer<Int8>, xScales: UnsafePointer<Float>, xGroupSums: UnsafePointer<Float>, groupStride: Int,
        activations: Int,
        packed: UnsafePointer<UInt8>, scales: UnsafePointer<UInt16>, zeroPoints: UnsafePointer<UInt8>?, columns: Int,
        groupSize: Int, rowScales: UnsafeMutablePointer<Float>,
        rowRange: Range<Int>, accumulate: Bool
    ) {
        let o = Q4Operands(
            y: y, yStride: yStride, x: x, xScales: xScales, xGroupSums: xGroupSums, groupStride: groupStride,
            packed: packed, scales: scales, zeroPoints: zeroPoints, columns: columns, groupSize: groupSize,
            rowScales: rowScales, accumulate: accumulate, prefetchDistance: q4PrefetchDistance,
            storedScaleFactors: groupSize == 32
                ? SIMD8<Float>(1, 1 / 16, 1, 1 / 16, 1, 1 / 16, 1, 1 / 16) : SIMD8<Float>(repeating: 1),
            zeroPointFactors: groupSize == 32 ? SIMD8<Float>(1, 16, 1, 16, 1, 16, 1, 16) : SIMD8<Float>(repeating: 1),
            symmetricZeroFactors: groupSize == 32
                ? SIMD8<Float>(8, 128, 8, 128, 8, 128, 8, 128) : SIMD8<Float>(repeating: 8),
            prefetchEnd: UnsafeRawPointer(packed) + rowRange.upperBound * (columns / 2))
        // A block of weight rows stays in L1 while every group of four activation rows runs over it.
        let blockRows = max(1, q4BlockBytes / max(1, columns / 2))
        var start = rowRange.lowerBound
        while start < rowRange.upperBound {
            let rows = start..<min(start &+ blockRows, rowRange.upperBound)
            q4ConvertScales(o, rows: rows)
            var i = 0
            while i < activations {
                let tile = min(4, activations &- i)
                q4Rows(o, activations: tile, rows: rows, i: i)
                i &+= tile
            }
            start = rows.upperBound
        }
    }

    /// How far ahead of the bytes being read the kernel asks for the weights, into L1: the
    /// hardware prefetcher alone leaves the memory bus idle between its requests.
    public let q4PrefetchDistance = 8192

    /// Weight rows per block in `q4ProductVNNI`: about this many bytes of packed weights.
    let q4BlockBytes = 16 << 10

    /// Floats of scratch `q4ProductVNNI` needs as `rowScales`.
    public func q4ScaleScratchCount(columns: Int, groupStride: Int) -> Int {
        (q4BlockBytes / max(1, columns / 2) + 1) * groupStride
    }

    /// The scales of weight rows `rows` as floats, `groupStride` per row, into `rowScales`.
    @inline(never)
    func q4ConvertScales(_ o: Q4Operands, rows: Range<Int>) {
        let groups = o.columns / o.groupSize
        for r in rows {
            let halfs = UnsafeRawPointer(o.scales + r &* groups)
            let out = UnsafeMutableRawPointer(o.rowScales + (r &- rows.lowerBound) &* o.groupStride)
            var g = 0
            while g < groups {
                var bits = SIMD8<UInt16>()
                if g &+ 8 <= groups {
                    bits = halfs.loadUnaligned(fromByteOffset: g &* 2, as: SIMD8<UInt16>.self)
                } else {
                    for j in 0..<(groups &- g) { bits[j] = halfs.load(fromByteOffset: (g &+ j) &* 2, as: UInt16.self) }
                }
                out.storeBytes(
                    of: widenHalfBits(bits) * o.storedScaleFactors, toByteOffset: g &* 4, as: SIMD8<Float>.self)
                g &+= 8
            }
        }
    }

    /// The tile loop for `activations` (1 to 4) rows from i, one function per height and group
    /// size: inlined into one function, the compiler stops inlining the loads inside them.
    func q4Rows(_ o: Q4Operands, activations: Int, rows: Range<Int>, i: Int) {
        if o.groupSize == 32 {
            switch activations {
            case 1: q4Rows1g32(o, rows: rows, i: i)
            case 2: q4Rows2g32(o, rows: rows, i: i)
            case 3: q4Rows3g32(o, rows: rows, i: i)
            default: q4Rows4g32(o, rows: rows, i: i)
            }
        } else {
            switch activations {
            case 1: q4Rows1g64(o, rows: rows, i: i)
            case 2: q4Rows2g64(o, rows: rows, i: i)
            case 3: q4Rows3g64(o, rows: rows, i: i)
            default: q4Rows4g64(o, rows: rows, i: i)
            }
        }
    }
    @inline(never) func q4Rows1g32(_ o: Q4Operands, rows: Range<Int>, i: Int) {
        q4RowsInEights(o, rows: rows, i: i) { r in q4RowTile(rows.lowerBound, 1, 32, o, r: r, i: i).l0 }
    }
    @inline(never) func q4Rows2g32(_ o: Q4Operands, rows: Range<Int>, i: Int) {
        for r in rows { q4Store(2, o, q4RowTile(rows.lowerBound, 2, 32, o, r: r, i: i), i: i, r: r) }
    }
    @inline(never) func q4Rows3g32(_ o: Q4Operands, rows: Range<Int>, i: Int) {
        for r in rows { q4Store(3, o, q4RowTile(rows.lowerBound, 3, 32, o, r: r, i: i), i: i, r: r) }
    }
    @inline(never) func q4Rows4g32(_ o: Q4Operands, rows: Range<Int>, i: Int) {
        for r in rows { q4Store(4, o, q4RowTile(rows.lowerBound, 4, 32, o, r: r, i: i), i: i, r: r) }
    }
    @inline(never) func q4Rows1g64(_ o: Q4Operands, rows: Range<Int>, i: Int) {
        q4RowsInEights(o, rows: rows, i: i) { r in q4RowTile(rows.lowerBound, 1, 64, o, r: r, i: i).l0 }
    }
    @inline(never) func q4Rows2g64(_ o: Q4Operands, rows: Range<Int>, i: Int) {
        for r in rows { q4Store(2, o, q4RowTile(rows.lowerBound, 2, 64, o, r: r, i: i), i: i, r: r) }
    }
    @inline(never) func q4Rows3g64(_ o: Q4Operands, rows: Range<Int>, i: Int) {
        for r in rows { q4Store(3, o, q4RowTile(rows.lowerBound, 3, 64, o, r: r, i: i), i: i, r: r) }
    }
    @inline(never) func q4Rows4g64(_ o: Q4Operands, rows: Range<Int>, i: Int) {
        for r in rows { q4Store(4, o, q4RowTile(rows.lowerBound, 4, 64, o, r: r, i: i), i: i, r: r) }
    }

    /// What every tile reads and writes, passed as one value.
    struct Q4Operands {
        let y: UnsafeMutablePointer<Float>, yStride: Int
        let x: UnsafePointer<Int8>, xScales: UnsafePointer<Float>, xGroupSums: UnsafePointer<Float>, groupStride: Int
        let packed: UnsafePointer<UInt8>, scales: UnsafePointer<UInt16>, zeroPoints: UnsafePointer<UInt8>?
        let columns: Int, groupSize: Int, rowScales: UnsafeMutablePointer<Float>, accumulate: Bool
        let prefetchDistance: Int
        /// What the scales are multiplied by in `rowScales`: 1/16 for groups read from high nibbles
        /// in place (a value the compiler cannot see, so that it stays one vector multiply).
        let storedScaleFactors: SIMD8<Float>
        /// 1 / storedScaleFactors, and 8 times it: what turns a stored scale into zero·scale.
        let zeroPointFactors: SIMD8<Float>, symmetricZeroFactors: SIMD8<Float>
        /// The end of this call's weight rows: prefetches stop there.
        let prefetchEnd: UnsafeRawPointer
    }

    /// acc + Σ_{j<4} a[4l+j]·b[4l+j] per Int32 lane l, a unsigned and b signed bytes (vpdpbusd).
    @inline(__always)
    private func dotBytes(
        _ acc: SIMD8<Int32>, _ unsignedBytes: SIMD8<Int32>, _ signedBytes: SIMD8<Int32>
    ) -> SIMD8<Int32> {
        var sums = SIMD8<Int32>()
        sums._storage._value = Builtin.int_x86_avx512_vpdpbusd_256(
            acc._storage._value, unsignedBytes._storage._value, signedBytes._storage._value)
        return sums
    }

    /// The zero points' shares of up to four activation rows.
    struct Q4ZeroShares {
        var z0 = SIMD8<Float>(), z1 = SIMD8<Float>(), z2 = SIMD8<Float>(), z3 = SIMD8<Float>()

        /// Adds zero·scale times the activation rows' group sums at `offset` bytes.
        @inline(__always) mutating func add(
            _ G: Int, _ zeroScale: SIMD8<Float>, sums: UnsafeRawPointer, stride: Int, offset: Int
        ) {
            @inline(__always) func groupSums(_ n: Int) -> SIMD8<Float> {
                sums.loadUnaligned(fromByteOffset: n &* stride &+ offset, as: SIMD8<Float>.self)
            }
            z0 = fusedMultiplyAdd(z0, zeroScale, groupSums(0))
            if G > 1 { z1 = fusedMultiplyAdd(z1, zeroScale, groupSums(1)) }
            if G > 2 { z2 = fusedMultiplyAdd(z2, zeroScale, groupSums(2)) }
            if G > 3 { z3 = fusedMultiplyAdd(z3, zeroScale, groupSums(3)) }
        }
    }

    /// The zero points' shares of weight row r with stored zero points: zero·scale from the
    /// stored scales times zero·16 where they were divided by 16 (exact either way).
    @inline(never)
    func q4ZeroPointShares(
        _ G: Int, _ o: Q4Operands, r: Int, sums: UnsafeRawPointer, rowScales: UnsafePointer<Float>
    ) -> Q4ZeroShares {
        let groups = o.columns / o.groupSize
        let zeros = UnsafeRawPointer(o.zeroPoints.unsafelyUnwrapped + r &* groups)
        var z = Q4ZeroShares()
        var g = 0
        while g < groups {
            let stored = UnsafeRawPointer(rowScales).loadUnaligned(fromByteOffset: g &* 4, as: SIMD8<Float>.self)
            var zeroBytes = SIMD8<UInt8>()
            if g &+ 8 <= groups {
                zeroBytes = zeros.loadUnaligned(fromByteOffset: g, as: SIMD8<UInt8>.self)
            } else {
                for j in 0..<(groups &- g) { zeroBytes[j] = zeros.load(fromByteOffset: g &+ j, as: UInt8.self) }
            }
            let zeroScale = widenBytesToFloat(zeroBytes) * o.zeroPointFactors * stored
            z.add(G, zeroScale, sums: sums, stride: o.groupStride &* 4, offset: g &* 4)
            g &+= 8
        }
        return z
    }

    /// The chains of up to four activation rows.
    struct Q4TileChains {
        var r0 = Q4Chains(), r1 = Q4Chains(), r2 = Q4Chains(), r3 = Q4Chains()
    }

    /// Each activation row's lanes: (c0 + c1) + (c2 + c3) − zero share.
    struct Q4Lanes {
        var l0 = SIMD8<Float>(), l1 = SIMD8<Float>(), l2 = SIMD8<Float>(), l3 = SIMD8<Float>()
    }

    /// y[i + n, r] (=|+=) sumLanes(lanes n) · xScales[i + n] for n < G.
    @inline(__always)
    func q4Store(_ G: Int, _ o: Q4Operands, _ lanes: Q4Lanes, i: Int, r: Int) {
        @inline(__always) func store(_ n: Int, _ l: SIMD8<Float>) {
            let value = sumLanes(l) * o.xScales[i &+ n]
            let out = o.y + ((i &+ n) &* o.yStride &+ r)
            out.pointee = o.accumulate ? out.pointee + value : value
        }
        store(0, lanes.l0)
        if G > 1 { store(1, lanes.l1) }
        if G > 2 { store(2, lanes.l2) }
        if G > 3 { store(3, lanes.l3) }
    }

    /// Eight rows' lanes, kept on the stack until they are summed together.
    struct Q4EightRows {
        var v0 = SIMD8<Float>(), v1 = SIMD8<Float>(), v2 = SIMD8<Float>(), v3 = SIMD8<Float>()
        var v4 = SIMD8<Float>(), v5 = SIMD8<Float>(), v6 = SIMD8<Float>(), v7 = SIMD8<Float>()
    }

    /// y[i, r] for r in `rows` from one activation row's `lanes(r)`, summed eight rows at a time
    /// (the same sums as one at a time, with fewer instructions), the last rows one at a time.
    @_transparent
    func q4RowsInEights(_ o: Q4Operands, rows: Range<Int>, i: Int, _ lanes: (Int) -> SIMD8<Float>) {
        let scale = o.xScales[i]
        var r = rows.lowerBound
        var eight = Q4EightRows()
        while r &+ 8 <= rows.upperBound {
            withUnsafeMutableBytes(of: &eight) { raw in
                for j in 0..<8 { raw.storeBytes(of: lanes(r &+ j), toByteOffset: j &* 32, as: SIMD8<Float>.self) }
            }
            let values =
                sumLanes(eight.v0, eight.v1, eight.v2, eight.v3, eight.v4, eight.v5, eight.v6, eight.v7) * scale
            let out = UnsafeMutableRawPointer(o.y + (i &* o.yStride &+ r))
            let old = o.accumulate ? out.loadUnaligned(as: SIMD8<Float>.self) : SIMD8<Float>()
            out.storeBytes(of: o.accumulate ? old + values : values, as: SIMD8<Float>.self)
            r &+= 8
        }
        while r < rows.upperBound {
            let value = sumLanes(lanes(r)) * scale
            let out = o.y + (i &* o.yStride &+ r)
            out.pointee = o.accumulate ? out.pointee + value : value
            r &+= 1
        }
    }

    /// The lanes of y[i..<i+G, r] for G ≤ 4 activation rows (`matmulQ4` sums them). First the zero points' share (Σ_g zero·scale·Σx)
    /// per activation row; then per 64 columns one 32-byte load of weights split into its
    /// nibbles, one vpdpbusd per activation row and group, whose eight Int32 lanes are converted
    /// and fused-multiply-added by the group's scale into the row's chains. In groups of 32 the
    /// high nibbles are masked but not shifted, so their sums are 16 times too large and their
    /// scales are stored divided by 16: the products are the same reals, so the floats are those
    /// of the AVX2 kernel. G and the group size are literals at every call site, so each guard
    /// folds away. Index arithmetic wraps (`&+`): this target keeps overflow checks, and sizes
    /// were checked when the matrix was made.
    @_transparent
    func q4RowTile(_ first: Int, _ G: Int, _ groupSize: Int, _ o: Q4Operands, r: Int, i: Int) -> Q4Lanes {
        let columns = o.columns
        let groups = columns / groupSize
        let w = UnsafeRawPointer(o.packed) + r &* (columns &>> 1)
        let x0 = UnsafeRawPointer(o.x) + i &* columns
        let x1 = x0 + (G > 1 ? columns : 0)
        let x2 = x0 + (G > 2 ? 2 &* columns : 0)
        let x3 = x0 + (G > 3 ? 3 &* columns : 0)
        let sums0 = UnsafeRawPointer(o.xGroupSums + i &* o.groupStride)
        let stride = o.groupStride &* 4
        let rowScales = o.rowScales + (r &- first) &* o.groupStride

        // Σ_g zero·scale·Σx in eight lanes (lane j: groups j, j + 8, ...).
        var z = Q4ZeroShares()
        if o.zeroPoints == nil {
            var g = 0
            while g < groups {
                let stored = UnsafeRawPointer(rowScales).loadUnaligned(fromByteOffset: g &* 4, as: SIMD8<Float>.self)
                z.add(G, o.symmetricZeroFactors * stored, sums: sums0, stride: stride, offset: g &* 4)
                g &+= 8
            }
        } else {
            z = q4ZeroPointShares(G, o, r: r, sums: sums0, rowScales: rowScales)
        }

        var a = Q4TileChains()
        /// Adds group `group` (chain `chain`) of every activation row to `a`: weights `q` against
        /// the 32 activations from column `k` (and `q2` against those from `k2`, when given).
        @inline(__always) func add(
            _ a: inout Q4TileChains, _ chain: Int, group: Int, _ q: SIMD8<Int32>, _ k: Int,
            _ q2: SIMD8<Int32>? = nil, _ k2: Int = 0
        ) {
            let scale = rowScales[group]
            @inline(__always) func sums(_ x: UnsafeRawPointer) -> SIMD8<Int32> {
                let first = dotBytes(.zero, q, x.loadUnaligned(fromByteOffset: k, as: SIMD8<Int32>.self))
                guard let q2 else { return first }
                return dotBytes(first, q2, x.loadUnaligned(fromByteOffset: k2, as: SIMD8<Int32>.self))
            }
            a.r0.add(chain, sums(x0), scale)
            if G > 1 { a.r1.add(chain, sums(x1), scale) }
            if G > 2 { a.r2.add(chain, sums(x2), scale) }
            if G > 3 { a.r3.add(chain, sums(x3), scale) }
        }
        let low = SIMD8<Int32>(repeating: 0x0F0F_0F0F)
        let high = SIMD8<Int32>(repeating: -0x0F0F_0F10)  // 0xF0F0F0F0
        let chunks = columns &>> 6
        var chunk = 0
        if groupSize == 32 {
            while chunk &+ 4 <= chunks {
                let line = w + (chunk &* 32 &+ o.prefetchDistance)
                if line < o.prefetchEnd { prefetchForReading(line) }
                if line + 64 < o.prefetchEnd { prefetchForReading(line + 64) }
                let v0 = w.loadUnaligned(fromByteOffset: chunk &* 32, as: SIMD8<Int32>.self)
                let v1 = w.loadUnaligned(fromByteOffset: chunk &* 32 &+ 32, as: SIMD8<Int32>.self)
                let v2 = w.loadUnaligned(fromByteOffset: chunk &* 32 &+ 64, as: SIMD8<Int32>.self)
                let v3 = w.loadUnaligned(fromByteOffset: chunk &* 32 &+ 96, as: SIMD8<Int32>.self)
                let k = chunk &* 64
                let g = chunk &* 2
                add(&a, 0, group: g, v0 & low, k)
                add(&a, 1, group: g &+ 1, v0 & high, k &+ 32)
                add(&a, 2, group: g &+ 2, v1 & low, k &+ 64)
                add(&a, 3, group: g &+ 3, v1 & high, k &+ 96)
                add(&a, 0, group: g &+ 4, v2 & low, k &+ 128)
                add(&a, 1, group: g &+ 5, v2 & high, k &+ 160)
                add(&a, 2, group: g &+ 6, v3 & low, k &+ 192)
                add(&a, 3, group: g &+ 7, v3 & high, k &+ 224)
                chunk &+= 4
            }
            while chunk &+ 2 <= chunks {
                let line = w + (chunk &* 32 &+ o.prefetchDistance)
                if line < o.prefetchEnd { prefetchForReading(line) }
                let v0 = w.loadUnaligned(fromByteOffset: chunk &* 32, as: SIMD8<Int32>.self)
                let v1 = w.loadUnaligned(fromByteOffset: chunk &* 32 &+ 32, as: SIMD8<Int32>.self)
                let k = chunk &* 64
                let g = chunk &* 2
                add(&a, 0, group: g, v0 & low, k)
                add(&a, 1, group: g &+ 1, v0 & high, k &+ 32)
                add(&a, 2, group: g &+ 2, v1 & low, k &+ 64)
                add(&a, 3, group: g &+ 3, v1 & high, k &+ 96)
                chunk &+= 2
            }
            if chunk < chunks {
                let v = w.loadUnaligned(fromByteOffset: chunk &* 32, as: SIMD8<Int32>.self)
                add(&a, 0, group: chunk &* 2, v & low, chunk &* 64)
                add(&a, 1, group: chunk &* 2 &+ 1, v & high, chunk &* 64 &+ 32)
            }
        } else {
            while chunk &+ 4 <= chunks {
                let line = w + (chunk &* 32 &+ o.prefetchDistance)
                if line < o.prefetchEnd { prefetchForReading(line) }
                if line + 64 < o.prefetchEnd { prefetchForReading(line + 64) }
                let v0 = w.loadUnaligned(fromByteOffset: chunk &* 32, as: SIMD8<Int32>.self)
                let v1 = w.loadUnaligned(fromByteOffset: chunk &* 32 &+ 32, as: SIMD8<Int32>.self)
                let v2 = w.loadUnaligned(fromByteOffset: chunk &* 32 &+ 64, as: SIMD8<Int32>.self)
                let v3 = w.loadUnaligned(fromByteOffset: chunk &* 32 &+ 96, as: SIMD8<Int32>.self)
                let k = chunk &* 64
                add(&a, 0, group: chunk, v0 & low, k, (v0 &>> 4) & low, k &+ 32)
                add(&a, 1, group: chunk &+ 1, v1 & low, k &+ 64, (v1 &>> 4) & low, k &+ 96)
                add(&a, 2, group: chunk &+ 2, v2 & low, k &+ 128, (v2 &>> 4) & low, k &+ 160)
                add(&a, 3, group: chunk &+ 3, v3 & low, k &+ 192, (v3 &>> 4) & low, k &+ 224)
                chunk &+= 4
            }
            // The last one to three chunks, on chains 0, 1, 2.
            var chain = 0
            while chunk < chunks {
                let v = w.loadUnaligned(fromByteOffset: chunk &* 32, as: SIMD8<Int32>.self)
                let k = chunk &* 64
                switch chain {
                case 0: add(&a, 0, group: chunk, v & low, k, (v &>> 4) & low, k &+ 32)
                case 1: add(&a, 1, group: chunk, v & low, k, (v &>> 4) & low, k &+ 32)
                default: add(&a, 2, group: chunk, v & low, k, (v &>> 4) & low, k &+ 32)
                }
                chunk &+= 1
                chain &+= 1
            }
        }

        var lanes = Q4Lanes()
        lanes.l0 = a.r0.sum - z.z0
        if G > 1 { lanes.l1 = a.r1.sum - z.z1 }
        if G > 2 { lanes.l2 = a.r2.sum - z.z2 }
        if G > 3 { lanes.l3 = a.r3.sum - z.z3 }
        return lanes
    }
#endif
