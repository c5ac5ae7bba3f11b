// The 4-bit weight product for CPUs with AVX-512 VNNI: vpdpbusd takes the weights' nibbles
// as its unsigned bytes and the int8 activations as its signed ones, 32 products per
// instruction where AVX2 needs a vpmaddubsw and a vpmaddwd. The layout and the arithmetic
// after the integer sums are Kernels' (Sources/Kernels/Kernels/Q4MatVec.swift), whose
// functions from X86Intrinsics this file calls too, so both kernels give the same floats.
import Swift
import X86Intrinsics

#if arch(x86_64)
    /// y[i, r] (=|+=) xScales[i] · Σ_g scale[r, g] · Σ_{k in g} (q[r, k] − zero[r, g]) · x[i, k],
    /// for weight rows `rowRange` and activation rows i in 0..<activations.
    ///
    /// - x: activation rows of `columns` int8 values; xGroupSums: Σ x per group, `groupStride`
    ///   (a multiple of 4) per row.
    /// - packed: weight rows of `columns / 2` bytes (Q4Matrix's layout); scales: f16 bits and
    ///   zeroPoints (nil: all 8) per row and group.
    public func q4ProductVNNI(
        y: UnsafeMutablePointer<Float>, yStride: Int,
        x: UnsafePointer<Int8>, xScales: UnsafePointer<Float>, xGroupSums: UnsafePointer<Int32>, groupStride: Int,
        activations: Int,
        packed: UnsafePointer<UInt8>, scales: UnsafePointer<UInt16>, zeroPoints: UnsafePointer<UInt8>?, columns: Int,
        groupSize: Int,
        rowRange: Range<Int>, accumulate: Bool
    ) {
        let o = Q4Operands(
            y: y, yStride: yStride, x: x, xScales: xScales, xGroupSums: xGroupSums, groupStride: groupStride,
            packed: packed,
            scales: scales, zeroPoints: zeroPoints, columns: columns, groupSize: groupSize, accumulate: accumulate)
        // A block of weight rows stays in L1 while every group of four activation rows runs over it.
        let blockRows = max(1, q4BlockBytes / max(1, columns / 2))
        var start = rowRange.lowerBound
        while start < rowRange.upperBound {
            let rows = start..<min(start &+ blockRows, rowRange.upperBound)
            var i = 0
            while i &+ 4 <= activations {
                q4Rows4(o, rows: rows, i: i)
                i &+= 4
            }
            switch activations &- i {
            case 3: q4Rows3(o, rows: rows, i: i)
            case 2: q4Rows2(o, rows: rows, i: i)
            case 1: q4Rows1(o, rows: rows, i: i)
            default: break
            }
            start = rows.upperBound
        }
    }

    /// How far ahead of the row being read each row asks for the weights: unpacking costs about as
    /// long as reading, and the hardware prefetcher alone does not keep up.
    public let q4PrefetchDistance = 8192

    /// Weight rows per block in `q4ProductVNNI`: about this many bytes of packed weights.
    let q4BlockBytes = 16 << 10

    // One function per tile height, never inlined: all four inlined into one function, the
    // compiler stops inlining the loads inside them and spills the accumulators.
    @inline(never) func q4Rows1(_ o: Q4Operands, rows: Range<Int>, i: Int) {
        for r in rows { q4RowTile(1, o, r: r, i: i) }
    }
    @inline(never) func q4Rows2(_ o: Q4Operands, rows: Range<Int>, i: Int) {
        for r in rows { q4RowTile(2, o, r: r, i: i) }
    }
    @inline(never) func q4Rows3(_ o: Q4Operands, rows: Range<Int>, i: Int) {
        for r in rows { q4RowTile(3, o, r: r, i: i) }
    }
    @inline(never) func q4Rows4(_ o: Q4Operands, rows: Range<Int>, i: Int) {
        for r in rows { q4RowTile(4, o, r: r, i: i) }
    }

    /// What every tile reads and writes, passed as one value.
    struct Q4Operands {
        let y: UnsafeMutablePointer<Float>, yStride: Int
        let x: UnsafePointer<Int8>, xScales: UnsafePointer<Float>, xGroupSums: UnsafePointer<Int32>, groupStride: Int
        let packed: UnsafePointer<UInt8>, scales: UnsafePointer<UInt16>, zeroPoints: UnsafePointer<UInt8>?
        let columns: Int, groupSize: Int, accumulate: Bool
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

    /// y[i..<i+G, r] for G ≤ 4 activation rows: per 64 columns one 32-byte load of weights split
    /// into its two nibble halves (a 32-bit shift then a byte mask), then one vpdpbusd per
    /// activation row and 32 columns; four groups' sums at a time come out of one horizontal-add
    /// tree and are scaled together. G is a literal at every call site, so each guard folds away.
    /// Index arithmetic wraps (`&+`): this target keeps overflow checks, and sizes were checked
    /// when the matrix was made.
    @_transparent
    func q4RowTile(_ G: Int, _ o: Q4Operands, r: Int, i: Int) {
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
        @inline(__always) func dot(
            _ acc: SIMD8<Int32>, _ q: SIMD8<Int32>, _ x: UnsafeRawPointer, _ k: Int
        ) -> SIMD8<Int32> {
            dotBytes(acc, q, x.loadUnaligned(fromByteOffset: k, as: SIMD8<Int32>.self))
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
#endif
