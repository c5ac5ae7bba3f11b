// The f32 product over a prompt's rows for GPT-2's Conv1D matrices ([in, out]) on 512-bit
// registers, without packing the weights.
//
// OpenBLAS's sgemm first copies each panel of the weights into its own layout, a pass bound
// by memory that does not overlap with the arithmetic: at a 32-token prompt the weights are
// used 32 times each, and that copy was 27% of GPT-2's prefill. This kernel reads the weights
// where they lie, one 64-column strip at a time, and prefetches the next strip while the
// current one is computed. Measured on GPT-2's 48 block matrices, 2 threads, Zen 4: 32 rows
// 116 -> 128 GFLOP/s, 128 rows 176 -> 190, 256 rows 190 -> 199; at 16 rows it lost (80 -> 73),
// so Tensor calls it for 32 to 256 rows. End to end, prefill of 32 tokens: GPT-2 66-70 ->
// 50-52 ms, GPT-2-medium 207-220 -> 161-168 ms.
//
// The prefetches are spread over every tile of a strip (`NextBlockPrefetch`), into L1: one
// thread, 32 rows, weights from memory, 768 x 2304: 72-76 -> 88-98 GFLOP/s (the first tile
// alone asking for the whole next strip, or spread but into L2 only, 62-65). With the weights
// in L3 the kernel runs 110-114, so most of the gap to memory is closed.
import Swift
import X86Intrinsics

#if arch(x86_64)
    /// C[i, j] (=|+=) Σ_k A[i, k] · W[k, j] for rows i in 0..<rows and columns j in `columns`
    /// (a multiple of 64 wide), A row-major [rows, inner] with row stride `lda`, W row-major
    /// [inner, ldw] (GPT-2's Conv1D), C with row stride `ldc`.
    public func inputMajorProductAVX512(
        c: UnsafeMutablePointer<Float>, ldc: Int, a: UnsafePointer<Float>, lda: Int, w: UnsafePointer<Float>, ldw: Int,
        rows: Int, inner: Int, columns: Range<Int>, accumulate: Bool
    ) {
        precondition(columns.count % 64 == 0)
        let o = FloatOperands(c: c, ldc: ldc, a: a, lda: lda, w: w, ldw: ldw)
        let tiles = (rows + 5) / 6
        var j = columns.lowerBound
        while j < columns.upperBound {
            var k0 = 0
            while k0 < inner {
                let k1 = min(inner, k0 + innerChunk)
                // The block read after this one: the strip's next chunk of W rows, else the next strip.
                let (nextJ, nextK0) = k1 < inner ? (j, k1) : (j + 64, 0)
                let nextRows = nextJ < columns.upperBound ? min(inner, nextK0 + innerChunk) - nextK0 : 0
                let lines = 4 * nextRows
                let steps = tiles * (k1 - k0)
                let perStep = (lines + steps - 1) / steps
                var prefetch = NextBlockPrefetch(
                    base: UnsafeRawPointer(w + nextK0 * ldw + nextJ), rowBytes: ldw * 4, lineCount: lines,
                    perStep: perStep, line: 0)
                // After the first chunk the tile adds to what the earlier chunks left in C.
                let load = accumulate || k0 > 0
                var i = 0
                while rows - i >= 6 && rows - i != 7 && rows - i != 8 {
                    floatTile6(o, i: i, j: j, k0: k0, k1: k1, load: load, prefetch: &prefetch)
                    i += 6
                }
                // 7 or 8 rows left: two tiles of 4 (or 4 and 3) run faster than 6 and a narrow 1 or 2.
                if rows - i >= 7 {
                    floatTile4(o, i: i, j: j, k0: k0, k1: k1, load: load, prefetch: &prefetch)
                    i += 4
                }
                switch rows - i {
                case 5: floatTile5(o, i: i, j: j, k0: k0, k1: k1, load: load, prefetch: &prefetch)
                case 4: floatTile4(o, i: i, j: j, k0: k0, k1: k1, load: load, prefetch: &prefetch)
                case 3: floatTile3(o, i: i, j: j, k0: k0, k1: k1, load: load, prefetch: &prefetch)
                case 2: floatTile2(o, i: i, j: j, k0: k0, k1: k1, load: load, prefetch: &prefetch)
                case 1: floatTile1(o, i: i, j: j, k0: k0, k1: k1, load: load, prefetch: &prefetch)
                default: break
                }
                k0 = k1
            }
            j += 64
        }
    }

    /// Requests the next block of W a few lines per step of the current block's tiles, spread over
    /// all of them. A strip's rows lie a whole W row apart (9 KB in GPT-2's widest matrix), each in its
    /// own page, where the hardware prefetcher does not follow. Into L1 (prefetcht0), not L2: here
    /// prefetcht1 measured slower (see the header).
    struct NextBlockPrefetch {
        let base: UnsafeRawPointer, rowBytes: Int, lineCount: Int, perStep: Int
        /// Line 4·r + q is the q-th 64-byte line of the block's row r.
        var line: Int

        @inline(__always) mutating func step() {
            var n = perStep
            while n > 0 && line < lineCount {
                prefetchForReading(base + (line >> 2) * rowBytes + (line & 3) * 64)
                line += 1
                n -= 1
            }
        }
    }

    /// Rows of W per pass over a strip: the strip's 768 × 256 bytes stay in L2 while every row
    /// block of A goes over them (measured best of 128, 256 and 768).
    let innerChunk = 768

    struct FloatOperands {
        let c: UnsafeMutablePointer<Float>, ldc: Int
        let a: UnsafePointer<Float>, lda: Int
        let w: UnsafePointer<Float>, ldw: Int
    }

    // One function per tile height, never inlined: inlined side by side, the compiler merges such
    // loops into one that tests the height in every iteration (Int8ProductVNNI.swift saw it).
    @inline(never) func floatTile6(
        _ o: FloatOperands, i: Int, j: Int, k0: Int, k1: Int, load: Bool, prefetch: inout NextBlockPrefetch
    ) {
        floatTile(6, o, i: i, j: j, k0: k0, k1: k1, load: load, prefetch: &prefetch)
    }
    @inline(never) func floatTile5(
        _ o: FloatOperands, i: Int, j: Int, k0: Int, k1: Int, load: Bool, prefetch: inout NextBlockPrefetch
    ) {
        floatTile(5, o, i: i, j: j, k0: k0, k1: k1, load: load, prefetch: &prefetch)
    }
    @inline(never) func floatTile4(
        _ o: FloatOperands, i: Int, j: Int, k0: Int, k1: Int, load: Bool, prefetch: inout NextBlockPrefetch
    ) {
        floatTile(4, o, i: i, j: j, k0: k0, k1: k1, load: load, prefetch: &prefetch)
    }
    @inline(never) func floatTile3(
        _ o: FloatOperands, i: Int, j: Int, k0: Int, k1: Int, load: Bool, prefetch: inout NextBlockPrefetch
    ) {
        floatTile(3, o, i: i, j: j, k0: k0, k1: k1, load: load, prefetch: &prefetch)
    }
    @inline(never) func floatTile2(
        _ o: FloatOperands, i: Int, j: Int, k0: Int, k1: Int, load: Bool, prefetch: inout NextBlockPrefetch
    ) {
        floatTile(2, o, i: i, j: j, k0: k0, k1: k1, load: load, prefetch: &prefetch)
    }
    @inline(never) func floatTile1(
        _ o: FloatOperands, i: Int, j: Int, k0: Int, k1: Int, load: Bool, prefetch: inout NextBlockPrefetch
    ) {
        floatTile(1, o, i: i, j: j, k0: k0, k1: k1, load: load, prefetch: &prefetch)
    }

    /// C[i..<i+G, j..<j+64] over W's rows k0..<k1: G ≤ 6 rows by four 16-float vectors in 4·G
    /// accumulators (24 of the 32 registers), each W vector loaded once and used for every row,
    /// each A value broadcast once and used for four vectors. G is a literal at every call site
    /// (the function is transparent). Each step also requests the next block's lines that are
    /// this tile's share (`NextBlockPrefetch`).
    @_transparent
    func floatTile(
        _ G: Int, _ o: FloatOperands, i: Int, j: Int, k0: Int, k1: Int, load: Bool, prefetch: inout NextBlockPrefetch
    ) {
        typealias V = SIMD16<Float>
        @inline(__always) func ld(_ p: UnsafePointer<Float>) -> V { UnsafeRawPointer(p).loadUnaligned(as: V.self) }
        @inline(__always) func st(_ p: UnsafeMutablePointer<Float>, _ v: V) {
            UnsafeMutableRawPointer(p).storeBytes(of: v, as: V.self)
        }
        let c0 = o.c + i * o.ldc + j
        let ldc = o.ldc
        @inline(__always) func start(_ g: Int, _ q: Int) -> V { load && g < G ? ld(c0 + g * ldc + 16 * q) : V() }
        var a00 = start(0, 0)
        var a01 = start(0, 1)
        var a02 = start(0, 2)
        var a03 = start(0, 3)
        var a10 = start(1, 0)
        var a11 = start(1, 1)
        var a12 = start(1, 2)
        var a13 = start(1, 3)
        var a20 = start(2, 0)
        var a21 = start(2, 1)
        var a22 = start(2, 2)
        var a23 = start(2, 3)
        var a30 = start(3, 0)
        var a31 = start(3, 1)
        var a32 = start(3, 2)
        var a33 = start(3, 3)
        var a40 = start(4, 0)
        var a41 = start(4, 1)
        var a42 = start(4, 2)
        var a43 = start(4, 3)
        var a50 = start(5, 0)
        var a51 = start(5, 1)
        var a52 = start(5, 2)
        var a53 = start(5, 3)
        let x = o.a + i * o.lda
        let lda = o.lda
        var wk = o.w + k0 * o.ldw + j
        var k = k0
        while k < k1 {
            prefetch.step()
            let w0 = ld(wk)
            let w1 = ld(wk + 16)
            let w2 = ld(wk + 32)
            let w3 = ld(wk + 48)
            var b = V(repeating: x[k])
            a00.addProduct(b, w0)
            a01.addProduct(b, w1)
            a02.addProduct(b, w2)
            a03.addProduct(b, w3)
            if G > 1 {
                b = V(repeating: x[lda + k])
                a10.addProduct(b, w0)
                a11.addProduct(b, w1)
                a12.addProduct(b, w2)
                a13.addProduct(b, w3)
            }
            if G > 2 {
                b = V(repeating: x[2 * lda + k])
                a20.addProduct(b, w0)
                a21.addProduct(b, w1)
                a22.addProduct(b, w2)
                a23.addProduct(b, w3)
            }
            if G > 3 {
                b = V(repeating: x[3 * lda + k])
                a30.addProduct(b, w0)
                a31.addProduct(b, w1)
                a32.addProduct(b, w2)
                a33.addProduct(b, w3)
            }
            if G > 4 {
                b = V(repeating: x[4 * lda + k])
                a40.addProduct(b, w0)
                a41.addProduct(b, w1)
                a42.addProduct(b, w2)
                a43.addProduct(b, w3)
            }
            if G > 5 {
                b = V(repeating: x[5 * lda + k])
                a50.addProduct(b, w0)
                a51.addProduct(b, w1)
                a52.addProduct(b, w2)
                a53.addProduct(b, w3)
            }
            wk += o.ldw
            k += 1
        }
        @inline(__always) func store(_ g: Int, _ v0: V, _ v1: V, _ v2: V, _ v3: V) {
            let p = c0 + g * ldc
            st(p, v0)
            st(p + 16, v1)
            st(p + 32, v2)
            st(p + 48, v3)
        }
        store(0, a00, a01, a02, a03)
        if G > 1 { store(1, a10, a11, a12, a13) }
        if G > 2 { store(2, a20, a21, a22, a23) }
        if G > 3 { store(3, a30, a31, a32, a33) }
        if G > 4 { store(4, a40, a41, a42, a43) }
        if G > 5 { store(5, a50, a51, a52, a53) }
    }
#endif
