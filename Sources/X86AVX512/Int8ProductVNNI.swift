// The int8 matrix product for CPUs with AVX-512 VNNI (Zen 4, Ice Lake and later): vpdpbusd
// multiplies 32 unsigned bytes by 32 signed bytes and adds them in fours into eight Int32
// lanes, one instruction where the AVX2 kernel needs a widening, a vpmaddwd and a vpaddd
// for half as many products.
//
// This target alone is compiled for AVX-512 (Package.swift), so nothing here is inlinable:
// Tensor calls `int8ProductVNNI` as an ordinary function, and only after checking that the
// CPU has the instructions (Tensor's Int8Kernel). Compiled with -parse-stdlib to reach the
// instruction through the Builtin module, like X86Intrinsics.
import Swift
import X86Intrinsics

#if arch(x86_64)
    /// y[i, r] (=|+=) weightScales[r] · xScales[i] · Σ_k W[r, k] · (x[i, k] − 128), for weight
    /// rows `rowRange` and activation rows i in 0..<activations.
    ///
    /// - x: activation rows of `columns` bytes, each int8 value stored plus 128 (vpdpbusd's
    ///   first operand is unsigned).
    /// - weightSums: Σ_k W[r, k] per weight row, to take the 128s back out:
    ///   Σ W·(x+128) − 128·ΣW = Σ W·x, exactly, in integers.
    ///
    /// Below `blockMinimumRows` activation rows (decode, batched decode, beams), weight rows are
    /// read one after another, each from start to end (two side by side from
    /// `pairTileMinimumRows` on), and each is used for every activation row (four at a time)
    /// while it sits in L1: four weight rows read side by side are far slower there, since four
    /// interleaved streams defeat the hardware prefetcher. From `blockMinimumRows`
    /// on (a prompt, a batch of sentences), tiles of four weight rows by four activation rows,
    /// over one panel of weight rows at a time (`panelBytes`).
    public func int8ProductVNNI(
        y: UnsafeMutablePointer<Float>, yStride: Int,
        x: UnsafePointer<UInt8>, xScales: UnsafePointer<Float>, activations: Int,
        weights: UnsafePointer<Int8>, weightScales: UnsafePointer<Float>, weightSums: UnsafePointer<Int32>,
        columns: Int,
        rowRange: Range<Int>, accumulate: Bool
    ) {
        let o = Operands(
            y: y, yStride: yStride, x: x, xScales: xScales, weights: weights, weightScales: weightScales,
            weightSums: weightSums, columns: columns, accumulate: accumulate)
        if activations >= blockMinimumRows {
            let panelRows = max(4, (panelBytes / max(columns, 1)) & ~3)
            var start = rowRange.lowerBound
            while start < rowRange.upperBound {
                let end = min(start + panelRows, rowRange.upperBound)
                let nextEnd = min(end + panelRows, rowRange.upperBound)
                blockPanel(
                    o, rows: start..<end, activations: activations,
                    next: UnsafeRawPointer(weights + end * columns), nextBytes: (nextEnd - end) * columns)
                start = end
            }
            return
        }
        let end = UnsafeRawPointer(weights + rowRange.upperBound * columns)  // never past this thread's share
        let distance = activations > 1 ? rowPrefetchDistance : 0
        let rowsPerStep = activations >= pairTileMinimumRows ? 2 : 1
        var r = rowRange.lowerBound
        while r < rowRange.upperBound {
            let rows = min(rowsPerStep, rowRange.upperBound - r)
            if distance > 0 {
                // These rows' worth of lines, `distance` bytes ahead of them.
                var line = UnsafeRawPointer(weights + r * columns) + distance
                let stop = min(line + rows * columns, end)
                while line < stop {
                    prefetchIntoL2(line)
                    line += 64
                }
            }
            if rows == 2 {
                pairTiles(o, r: r, activations: activations)
            } else {
                rowTiles(o, r: r, activations: activations)
            }
            r += rows
        }
    }

    /// Weight row r against every activation row, four at a time.
    @inline(__always)
    private func rowTiles(_ o: Operands, r: Int, activations: Int) {
        var i = 0
        while i + 4 <= activations {
            rowTile(4, o, r: r, i: i)
            i += 4
        }
        switch activations - i {
        case 3: rowTile(3, o, r: r, i: i)
        case 2: rowTile(2, o, r: r, i: i)
        case 1: rowTile(1, o, r: r, i: i)
        default: break
        }
    }

    /// Weight rows r and r + 1 against every activation row, four at a time.
    @inline(__always)
    private func pairTiles(_ o: Operands, r: Int, activations: Int) {
        var i = 0
        while i + 4 <= activations {
            pairTile(4, o, r: r, i: i)
            i += 4
        }
        switch activations - i {
        case 3: pairTile(3, o, r: r, i: i)
        case 2: pairTile(2, o, r: r, i: i)
        case 1: pairTile(1, o, r: r, i: i)
        default: break
        }
    }

    /// From this many activation rows on, tiles of four weight rows by four activation rows: the
    /// weights are reused often enough that four interleaved streams no longer hurt, and each
    /// activation vector then serves four weight rows instead of one, a quarter of the L1/L2
    /// traffic. At 8 rows (batch-8 decode) they lose to rows one after another.
    let blockMinimumRows = 16

    /// With 2 to 15 activation rows (batched decode, beams), each weight row asks for the one this
    /// many bytes further on, into L2. There each row's arithmetic takes about as long as reading
    /// it, and the hardware prefetcher alone does not keep up. With one activation row it loses,
    /// so batch 1 does without.
    let rowPrefetchDistance = 8192

    /// What every tile reads and writes, passed as one value.
    struct Operands {
        let y: UnsafeMutablePointer<Float>, yStride: Int
        let x: UnsafePointer<UInt8>, xScales: UnsafePointer<Float>
        let weights: UnsafePointer<Int8>, weightScales: UnsafePointer<Float>, weightSums: UnsafePointer<Int32>,
            columns: Int
        let accumulate: Bool
    }

    /// acc + Σ_{j<4} a[4l+j]·b[4l+j] per Int32 lane l, a unsigned and b signed bytes (vpdpbusd).
    @inline(__always)
    private func dotBytes(_ acc: SIMD8<Int32>, _ unsignedBytes: SIMD8<Int32>, _ signedBytes: SIMD8<Int32>) -> SIMD8<
        Int32
    > {
        var sums = SIMD8<Int32>()
        sums._storage._value = Builtin.int_x86_avx512_vpdpbusd_256(
            acc._storage._value, unsignedBytes._storage._value, signedBytes._storage._value)
        return sums
    }

    /// y[i..<i+G, r] for G ≤ 4 activation rows, 64 columns per step: each activation row has two
    /// accumulators (even and odd 32-byte blocks), so even one row keeps two vpdpbusd chains in
    /// flight and four rows keep eight, what two VNNI pipes need to hide the latency. G is a
    /// literal at every call site (the function is transparent), so each guard folds away.
    @_transparent
    func rowTile(_ G: Int, _ o: Operands, r: Int, i: Int) {
        let columns = o.columns
        let pairEnd = (columns / 64) * 64
        let vectorEnd = (columns / 32) * 32
        let w = UnsafeRawPointer(o.weights + r * columns)
        let x0 = UnsafeRawPointer(o.x + i * columns)
        let x1 = x0 + (G > 1 ? columns : 0)
        let x2 = x0 + (G > 2 ? 2 * columns : 0)
        let x3 = x0 + (G > 3 ? 3 * columns : 0)
        var a0 = SIMD8<Int32>()
        var a1 = SIMD8<Int32>()
        var a2 = SIMD8<Int32>()
        var a3 = SIMD8<Int32>()
        var b0 = SIMD8<Int32>()
        var b1 = SIMD8<Int32>()
        var b2 = SIMD8<Int32>()
        var b3 = SIMD8<Int32>()
        @inline(__always) func bytes(_ p: UnsafeRawPointer, _ k: Int) -> SIMD8<Int32> {
            p.loadUnaligned(fromByteOffset: k, as: SIMD8<Int32>.self)
        }
        var k = 0
        while k < pairEnd {
            let v = bytes(w, k)
            let u = bytes(w, k + 32)
            a0 = dotBytes(a0, bytes(x0, k), v)
            b0 = dotBytes(b0, bytes(x0, k + 32), u)
            if G > 1 {
                a1 = dotBytes(a1, bytes(x1, k), v)
                b1 = dotBytes(b1, bytes(x1, k + 32), u)
            }
            if G > 2 {
                a2 = dotBytes(a2, bytes(x2, k), v)
                b2 = dotBytes(b2, bytes(x2, k + 32), u)
            }
            if G > 3 {
                a3 = dotBytes(a3, bytes(x3, k), v)
                b3 = dotBytes(b3, bytes(x3, k + 32), u)
            }
            k += 64
        }
        if k < vectorEnd {
            let v = bytes(w, k)
            a0 = dotBytes(a0, bytes(x0, k), v)
            if G > 1 { a1 = dotBytes(a1, bytes(x1, k), v) }
            if G > 2 { a2 = dotBytes(a2, bytes(x2, k), v) }
            if G > 3 { a3 = dotBytes(a3, bytes(x3, k), v) }
        }
        // The four rows' sums come out of three horizontal adds as one vector.
        var sums = horizontalSums(a0 &+ b0, a1 &+ b1, a2 &+ b2, a3 &+ b3)
        if vectorEnd < columns {
            let row = o.weights + r * columns
            for g in 0..<G {
                let x = o.x + (i + g) * columns
                for t in vectorEnd..<columns {
                    sums[g] &+= Int32(truncatingIfNeeded: row[t]) &* Int32(truncatingIfNeeded: x[t])
                }
            }
        }
        sums &-= 128 &* o.weightSums[r]
        let s = o.xScales + i  // only G of them exist
        let xScales = SIMD4(s[0], G > 1 ? s[1] : 0, G > 2 ? s[2] : 0, G > 3 ? s[3] : 0)
        let values = float(sums) * o.weightScales[r] * xScales  // in the order every kernel rounds in
        @inline(__always) func store(_ g: Int) {
            let out = o.y + (i + g) * o.yStride + r
            out.pointee = o.accumulate ? out.pointee + values[g] : values[g]
        }
        store(0)
        if G > 1 { store(1) }
        if G > 2 { store(2) }
        if G > 3 { store(3) }
    }

    /// From this many activation rows up to `blockMinimumRows` (GPT-2 batched decode at batch 8),
    /// weight rows go two at a time (`pairTile`): each activation vector loaded then serves two
    /// weight rows, and the 512-bit steps take half the instructions, so the arithmetic for 8 rows
    /// hides better behind the weight stream. At 4 rows it gains nothing, so fewer rows keep one
    /// stream.
    let pairTileMinimumRows = 8

    /// y[i..<i+G, r..<r+2] for G ≤ 4 activation rows: two weight rows side by side, so each
    /// activation vector loaded serves both, 64 columns per step on 512-bit registers.
    @_transparent
    func pairTile(_ G: Int, _ o: Operands, r: Int, i: Int) {
        let columns = o.columns
        let wideEnd = (columns / 64) * 64
        let vectorEnd = (columns / 32) * 32
        let w0 = UnsafeRawPointer(o.weights + r * columns)
        let w1 = w0 + columns
        let x0 = UnsafeRawPointer(o.x + i * columns)
        let x1 = x0 + (G > 1 ? columns : 0)
        let x2 = x0 + (G > 2 ? 2 * columns : 0)
        let x3 = x0 + (G > 3 ? 3 * columns : 0)
        var a00 = SIMD16<Int32>()
        var a01 = SIMD16<Int32>()
        var a10 = SIMD16<Int32>()
        var a11 = SIMD16<Int32>()
        var a20 = SIMD16<Int32>()
        var a21 = SIMD16<Int32>()
        var a30 = SIMD16<Int32>()
        var a31 = SIMD16<Int32>()
        @inline(__always) func bytes(_ p: UnsafeRawPointer, _ k: Int) -> SIMD16<Int32> {
            p.loadUnaligned(fromByteOffset: k, as: SIMD16<Int32>.self)
        }
        var k = 0
        while k < wideEnd {
            let v0 = bytes(w0, k)
            let v1 = bytes(w1, k)
            let u0 = bytes(x0, k)
            a00 = dotBytes(a00, u0, v0)
            a01 = dotBytes(a01, u0, v1)
            if G > 1 {
                let u1 = bytes(x1, k)
                a10 = dotBytes(a10, u1, v0)
                a11 = dotBytes(a11, u1, v1)
            }
            if G > 2 {
                let u2 = bytes(x2, k)
                a20 = dotBytes(a20, u2, v0)
                a21 = dotBytes(a21, u2, v1)
            }
            if G > 3 {
                let u3 = bytes(x3, k)
                a30 = dotBytes(a30, u3, v0)
                a31 = dotBytes(a31, u3, v1)
            }
            k += 64
        }
        @inline(__always) func half(_ a: SIMD16<Int32>) -> SIMD8<Int32> { a.lowHalf &+ a.highHalf }
        var b00 = half(a00)
        var b01 = half(a01)
        var b10 = half(a10)
        var b11 = half(a11)
        var b20 = half(a20)
        var b21 = half(a21)
        var b30 = half(a30)
        var b31 = half(a31)
        if k < vectorEnd {
            @inline(__always) func narrow(_ p: UnsafeRawPointer) -> SIMD8<Int32> {
                p.loadUnaligned(fromByteOffset: k, as: SIMD8<Int32>.self)
            }
            let v0 = narrow(w0)
            let v1 = narrow(w1)
            let u0 = narrow(x0)
            b00 = dotBytes(b00, u0, v0)
            b01 = dotBytes(b01, u0, v1)
            if G > 1 {
                let u1 = narrow(x1)
                b10 = dotBytes(b10, u1, v0)
                b11 = dotBytes(b11, u1, v1)
            }
            if G > 2 {
                let u2 = narrow(x2)
                b20 = dotBytes(b20, u2, v0)
                b21 = dotBytes(b21, u2, v1)
            }
            if G > 3 {
                let u3 = narrow(x3)
                b30 = dotBytes(b30, u3, v0)
                b31 = dotBytes(b31, u3, v1)
            }
        }
        // Both weight rows' sums for two activation rows come out of one horizontal-add tree.
        @inline(__always) func finish(_ g: Int, _ sums: SIMD2<Int32>) {
            var sums = sums
            let x = o.x + (i + g) * columns
            if vectorEnd < columns {
                let row0 = o.weights + r * columns
                let row1 = row0 + columns
                for t in vectorEnd..<columns {
                    let xt = Int32(truncatingIfNeeded: x[t])
                    sums[0] &+= Int32(truncatingIfNeeded: row0[t]) &* xt
                    sums[1] &+= Int32(truncatingIfNeeded: row1[t]) &* xt
                }
            }
            sums &-= 128 &* SIMD2(o.weightSums[r], o.weightSums[r + 1])
            let xScale = o.xScales[i + g]
            let values =
                SIMD2(Float(sums[0]), Float(sums[1])) * SIMD2(o.weightScales[r], o.weightScales[r + 1]) * xScale
            let out = o.y + (i + g) * o.yStride + r
            out[0] = o.accumulate ? out[0] + values[0] : values[0]
            out[1] = o.accumulate ? out[1] + values[1] : values[1]
        }
        let first = horizontalSums(b00, b01, b10, b11)
        finish(0, SIMD2(first[0], first[1]))
        if G > 1 { finish(1, SIMD2(first[2], first[3])) }
        if G > 2 {
            let second = horizontalSums(b20, b21, b30, b31)
            finish(2, SIMD2(second[0], second[1]))
            if G > 3 { finish(3, SIMD2(second[2], second[3])) }
        }
    }

    /// Weight rows are taken a panel at a time, about this many bytes: the panel stays in L2
    /// while every group of four activation rows runs across it, and the group stays in L1
    /// while it does. Four-row blocks against every activation row instead start each block (one
    /// 4 KB page at 1024 columns) on cold misses, as the prefetcher stops at page boundaries.
    let panelBytes = 128 << 10

    /// Weight rows `rows` against every activation row, one group of four activation rows at a
    /// time, while the next panel (`nextBytes` from `next`) is prefetched a few lines per tile.
    @inline(__always)
    private func blockPanel(_ o: Operands, rows: Range<Int>, activations: Int, next: UnsafeRawPointer, nextBytes: Int) {
        let blocks = (rows.count + 3) / 4
        let groups = (activations + 3) / 4
        let linesPerTile = (nextBytes / 64 + blocks * groups - 1) / (blocks * groups)
        var prefetch = PrefetchCursor(next: next, end: next + nextBytes, linesPerTile: linesPerTile)
        var i = 0
        while i + 4 <= activations {
            panelGroup(4, o, rows: rows, i: i, prefetch: &prefetch)
            i += 4
        }
        switch activations - i {
        case 3: panelGroup(3, o, rows: rows, i: i, prefetch: &prefetch)
        case 2: panelGroup(2, o, rows: rows, i: i, prefetch: &prefetch)
        case 1: panelGroup(1, o, rows: rows, i: i, prefetch: &prefetch)
        default: break
        }
    }

    /// Where the next panel's prefetch has got to. The lines go to L2, where the panel is meant to
    /// live; into L1 they push out the activation group and the weight block being reused there.
    struct PrefetchCursor {
        var next: UnsafeRawPointer
        let end: UnsafeRawPointer, linesPerTile: Int

        @inline(__always)
        mutating func advance() {
            var line = 0
            while line < linesPerTile && next < end {
                prefetchIntoL2(next)
                next += 64
                line += 1
            }
        }
    }

    /// Activation rows i..<i+G against the panel's weight rows, four weight rows at a time.
    @_transparent
    func panelGroup(_ G: Int, _ o: Operands, rows: Range<Int>, i: Int, prefetch: inout PrefetchCursor) {
        var r = rows.lowerBound
        while r + 4 <= rows.upperBound {
            prefetch.advance()
            if G == 4 { blockTile4x4(o, r: r, i: i) } else { blockTile(4, G, o, r: r, i: i) }
            r += 4
        }
        while r < rows.upperBound {
            blockTile(1, G, o, r: r, i: i)
            r += 1
        }
    }

    /// acc + Σ_{j<4} a[4l+j]·b[4l+j] per Int32 lane l over 512 bits (vpdpbusd on zmm).
    @inline(__always)
    private func dotBytes(_ acc: SIMD16<Int32>, _ unsignedBytes: SIMD16<Int32>, _ signedBytes: SIMD16<Int32>) -> SIMD16<
        Int32
    > {
        var sums = SIMD16<Int32>()
        sums._storage._value = Builtin.int_x86_avx512_vpdpbusd_512(
            acc._storage._value, unsignedBytes._storage._value, signedBytes._storage._value)
        return sums
    }

    /// The full tile, four weight rows by four activation rows, 64 columns per step on 512-bit
    /// registers (Zen 4 runs each as two 256-bit halves: the same products per cycle as the
    /// 256-bit loop, from half the instructions), then one 256-bit step and the scalar tail.
    ///
    /// A function of its own, never inlined: inlined next to the remainder tiles, the compiler
    /// merges their loops into one with a branch per row count in every iteration.
    @inline(never)
    private func blockTile4x4(_ o: Operands, r: Int, i: Int) {
        let columns = o.columns
        let wideEnd = (columns / 64) * 64
        let vectorEnd = (columns / 32) * 32
        let w0 = UnsafeRawPointer(o.weights + r * columns)
        let w1 = w0 + columns
        let w2 = w0 + 2 * columns
        let w3 = w0 + 3 * columns
        let x0 = UnsafeRawPointer(o.x + i * columns)
        let x1 = x0 + columns
        let x2 = x0 + 2 * columns
        let x3 = x0 + 3 * columns
        var a00 = SIMD16<Int32>()
        var a01 = SIMD16<Int32>()
        var a02 = SIMD16<Int32>()
        var a03 = SIMD16<Int32>()
        var a10 = SIMD16<Int32>()
        var a11 = SIMD16<Int32>()
        var a12 = SIMD16<Int32>()
        var a13 = SIMD16<Int32>()
        var a20 = SIMD16<Int32>()
        var a21 = SIMD16<Int32>()
        var a22 = SIMD16<Int32>()
        var a23 = SIMD16<Int32>()
        var a30 = SIMD16<Int32>()
        var a31 = SIMD16<Int32>()
        var a32 = SIMD16<Int32>()
        var a33 = SIMD16<Int32>()
        @inline(__always) func bytes(_ p: UnsafeRawPointer, _ k: Int) -> SIMD16<Int32> {
            p.loadUnaligned(fromByteOffset: k, as: SIMD16<Int32>.self)
        }
        var k = 0
        while k < wideEnd {
            let v0 = bytes(w0, k)
            let v1 = bytes(w1, k)
            let v2 = bytes(w2, k)
            let v3 = bytes(w3, k)
            let u0 = bytes(x0, k)
            a00 = dotBytes(a00, u0, v0)
            a01 = dotBytes(a01, u0, v1)
            a02 = dotBytes(a02, u0, v2)
            a03 = dotBytes(a03, u0, v3)
            let u1 = bytes(x1, k)
            a10 = dotBytes(a10, u1, v0)
            a11 = dotBytes(a11, u1, v1)
            a12 = dotBytes(a12, u1, v2)
            a13 = dotBytes(a13, u1, v3)
            let u2 = bytes(x2, k)
            a20 = dotBytes(a20, u2, v0)
            a21 = dotBytes(a21, u2, v1)
            a22 = dotBytes(a22, u2, v2)
            a23 = dotBytes(a23, u2, v3)
            let u3 = bytes(x3, k)
            a30 = dotBytes(a30, u3, v0)
            a31 = dotBytes(a31, u3, v1)
            a32 = dotBytes(a32, u3, v2)
            a33 = dotBytes(a33, u3, v3)
            k += 64
        }
        @inline(__always) func half(_ a: SIMD16<Int32>) -> SIMD8<Int32> { a.lowHalf &+ a.highHalf }
        var b00 = half(a00)
        var b01 = half(a01)
        var b02 = half(a02)
        var b03 = half(a03)
        var b10 = half(a10)
        var b11 = half(a11)
        var b12 = half(a12)
        var b13 = half(a13)
        var b20 = half(a20)
        var b21 = half(a21)
        var b22 = half(a22)
        var b23 = half(a23)
        var b30 = half(a30)
        var b31 = half(a31)
        var b32 = half(a32)
        var b33 = half(a33)
        if k < vectorEnd {
            @inline(__always) func narrow(_ p: UnsafeRawPointer) -> SIMD8<Int32> {
                p.loadUnaligned(fromByteOffset: k, as: SIMD8<Int32>.self)
            }
            let v0 = narrow(w0)
            let v1 = narrow(w1)
            let v2 = narrow(w2)
            let v3 = narrow(w3)
            let u0 = narrow(x0)
            let u1 = narrow(x1)
            let u2 = narrow(x2)
            let u3 = narrow(x3)
            b00 = dotBytes(b00, u0, v0)
            b01 = dotBytes(b01, u0, v1)
            b02 = dotBytes(b02, u0, v2)
            b03 = dotBytes(b03, u0, v3)
            b10 = dotBytes(b10, u1, v0)
            b11 = dotBytes(b11, u1, v1)
            b12 = dotBytes(b12, u1, v2)
            b13 = dotBytes(b13, u1, v3)
            b20 = dotBytes(b20, u2, v0)
            b21 = dotBytes(b21, u2, v1)
            b22 = dotBytes(b22, u2, v2)
            b23 = dotBytes(b23, u2, v3)
            b30 = dotBytes(b30, u3, v0)
            b31 = dotBytes(b31, u3, v1)
            b32 = dotBytes(b32, u3, v2)
            b33 = dotBytes(b33, u3, v3)
        }
        finishBlockRow(4, o, r: r, i: i, 0, b00, b01, b02, b03)
        finishBlockRow(4, o, r: r, i: i, 1, b10, b11, b12, b13)
        finishBlockRow(4, o, r: r, i: i, 2, b20, b21, b22, b23)
        finishBlockRow(4, o, r: r, i: i, 3, b30, b31, b32, b33)
    }

    /// y[i..<i+G, r..<r+P] for P ≤ 4 weight rows and G ≤ 4 activation rows, 32 columns per
    /// step. P and G are literals at every call site (always inlined), so each guard folds away
    /// and every tile shape gets its own loop.
    @_transparent
    func blockTile(_ P: Int, _ G: Int, _ o: Operands, r: Int, i: Int) {
        let columns = o.columns
        let vectorEnd = (columns / 32) * 32
        let w0 = UnsafeRawPointer(o.weights + r * columns)
        let w1 = w0 + (P > 1 ? columns : 0)
        let w2 = w0 + (P > 2 ? 2 * columns : 0)
        let w3 = w0 + (P > 3 ? 3 * columns : 0)
        let x0 = UnsafeRawPointer(o.x + i * columns)
        let x1 = x0 + (G > 1 ? columns : 0)
        let x2 = x0 + (G > 2 ? 2 * columns : 0)
        let x3 = x0 + (G > 3 ? 3 * columns : 0)
        var a00 = SIMD8<Int32>()
        var a01 = SIMD8<Int32>()
        var a02 = SIMD8<Int32>()
        var a03 = SIMD8<Int32>()
        var a10 = SIMD8<Int32>()
        var a11 = SIMD8<Int32>()
        var a12 = SIMD8<Int32>()
        var a13 = SIMD8<Int32>()
        var a20 = SIMD8<Int32>()
        var a21 = SIMD8<Int32>()
        var a22 = SIMD8<Int32>()
        var a23 = SIMD8<Int32>()
        var a30 = SIMD8<Int32>()
        var a31 = SIMD8<Int32>()
        var a32 = SIMD8<Int32>()
        var a33 = SIMD8<Int32>()
        @inline(__always) func bytes(_ p: UnsafeRawPointer, _ k: Int) -> SIMD8<Int32> {
            p.loadUnaligned(fromByteOffset: k, as: SIMD8<Int32>.self)
        }
        var k = 0
        while k < vectorEnd {
            let v0 = bytes(w0, k)
            let v1 = P > 1 ? bytes(w1, k) : SIMD8<Int32>()
            let v2 = P > 2 ? bytes(w2, k) : SIMD8<Int32>()
            let v3 = P > 3 ? bytes(w3, k) : SIMD8<Int32>()
            let u0 = bytes(x0, k)
            a00 = dotBytes(a00, u0, v0)
            if P > 1 { a01 = dotBytes(a01, u0, v1) }
            if P > 2 { a02 = dotBytes(a02, u0, v2) }
            if P > 3 { a03 = dotBytes(a03, u0, v3) }
            if G > 1 {
                let u1 = bytes(x1, k)
                a10 = dotBytes(a10, u1, v0)
                if P > 1 { a11 = dotBytes(a11, u1, v1) }
                if P > 2 { a12 = dotBytes(a12, u1, v2) }
                if P > 3 { a13 = dotBytes(a13, u1, v3) }
            }
            if G > 2 {
                let u2 = bytes(x2, k)
                a20 = dotBytes(a20, u2, v0)
                if P > 1 { a21 = dotBytes(a21, u2, v1) }
                if P > 2 { a22 = dotBytes(a22, u2, v2) }
                if P > 3 { a23 = dotBytes(a23, u2, v3) }
            }
            if G > 3 {
                let u3 = bytes(x3, k)
                a30 = dotBytes(a30, u3, v0)
                if P > 1 { a31 = dotBytes(a31, u3, v1) }
                if P > 2 { a32 = dotBytes(a32, u3, v2) }
                if P > 3 { a33 = dotBytes(a33, u3, v3) }
            }
            k += 32
        }
        finishBlockRow(P, o, r: r, i: i, 0, a00, a01, a02, a03)
        if G > 1 { finishBlockRow(P, o, r: r, i: i, 1, a10, a11, a12, a13) }
        if G > 2 { finishBlockRow(P, o, r: r, i: i, 2, a20, a21, a22, a23) }
        if G > 3 { finishBlockRow(P, o, r: r, i: i, 3, a30, a31, a32, a33) }
    }

    /// The outputs of one activation row of a block tile, P = 4 or 1. Four weight rows' sums
    /// come out of three horizontal adds as one vector and land in four adjacent outputs: a few
    /// instructions per tile row, not a reduction per accumulator.
    @_transparent
    func finishBlockRow(
        _ P: Int, _ o: Operands, r: Int, i: Int, _ g: Int, _ p0: SIMD8<Int32>, _ p1: SIMD8<Int32>, _ p2: SIMD8<Int32>,
        _ p3: SIMD8<Int32>
    ) {
        let columns = o.columns
        let vectorEnd = (columns / 32) * 32
        let x = o.x + (i + g) * columns
        let xScale = o.xScales[i + g]
        let out = o.y + (i + g) * o.yStride + r
        @inline(__always) func tail(_ q: Int) -> Int32 {
            let row = o.weights + (r + q) * columns
            var sum: Int32 = 0
            for t in vectorEnd..<columns {
                sum &+= Int32(truncatingIfNeeded: row[t]) &* Int32(truncatingIfNeeded: x[t])
            }
            return sum
        }
        if P == 4 {
            var sums = horizontalSums(p0, p1, p2, p3)
            if vectorEnd < columns { sums &+= SIMD4(tail(0), tail(1), tail(2), tail(3)) }
            sums &-= 128 &* UnsafeRawPointer(o.weightSums + r).loadUnaligned(as: SIMD4<Int32>.self)
            var values =
                float(sums) * UnsafeRawPointer(o.weightScales + r).loadUnaligned(as: SIMD4<Float>.self) * xScale
            if o.accumulate { values += UnsafeRawPointer(out).loadUnaligned(as: SIMD4<Float>.self) }
            UnsafeMutableRawPointer(out).storeBytes(of: values, as: SIMD4<Float>.self)
        } else {
            let sum = p0.wrappedSum() &+ tail(0) &- 128 &* o.weightSums[r]
            let value = Float(sum) * o.weightScales[r] * xScale
            out.pointee = o.accumulate ? out.pointee + value : value
        }
    }

    /// [Σ a0, Σ a1, Σ a2, Σ a3]: vphaddd pairs neighbours within each 128-bit half, twice, and
    /// the two halves are added last.
    @inline(__always)
    private func horizontalSums(_ a0: SIMD8<Int32>, _ a1: SIMD8<Int32>, _ a2: SIMD8<Int32>, _ a3: SIMD8<Int32>)
        -> SIMD4<Int32>
    {
        @inline(__always) func pairSums(_ a: SIMD8<Int32>, _ b: SIMD8<Int32>) -> SIMD8<Int32> {
            var sums = SIMD8<Int32>()
            sums._storage._value = Builtin.int_x86_avx2_phadd_d(a._storage._value, b._storage._value)
            return sums
        }
        let sums = pairSums(pairSums(a0, a1), pairSums(a2, a3))
        return sums.lowHalf &+ sums.highHalf
    }

    /// Int32 lanes to Float (vcvtdq2ps), without the stdlib's generic conversion.
    @inline(__always)
    private func float(_ v: SIMD4<Int32>) -> SIMD4<Float> {
        var f = SIMD4<Float>()
        f._storage._value = Builtin.sitofp_Vec4xInt32_Vec4xFPIEEE32(v._storage._value)
        return f
    }
#endif
