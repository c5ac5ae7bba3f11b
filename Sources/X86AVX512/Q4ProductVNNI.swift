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
    x: UnsafePointer<Int8>, xScales: UnsafePointer<Float>, xGroupSums: UnsafePointer<Int32>, groupStride: Int, activations: Int,
    packed: UnsafePointer<UInt8>, scales: UnsafePointer<UInt16>, zeroPoints: UnsafePointer<UInt8>?, columns: Int, groupSize: Int,
    rowRange: Range<Int>, accumulate: Bool
) {
    let o = Q4Operands(
        y: y, yStride: yStride, x: x, xScales: xScales, xGroupSums: xGroupSums, groupStride: groupStride, packed: packed,
        scales: scales, zeroPoints: zeroPoints, columns: columns, groupSize: groupSize, accumulate: accumulate)
    for r in rowRange {
        var i = 0
        while i + 4 <= activations {
            q4RowTile(4, o, r: r, i: i)
            i += 4
        }
        switch activations - i {
        case 3: q4RowTile(3, o, r: r, i: i)
        case 2: q4RowTile(2, o, r: r, i: i)
        case 1: q4RowTile(1, o, r: r, i: i)
        default: break
        }
    }
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
private func dotBytes(_ acc: SIMD8<Int32>, _ unsignedBytes: SIMD8<Int32>, _ signedBytes: SIMD8<Int32>) -> SIMD8<Int32> {
    var sums = SIMD8<Int32>()
    sums._storage._value = Builtin.int_x86_avx512_vpdpbusd_256(
        acc._storage._value, unsignedBytes._storage._value, signedBytes._storage._value)
    return sums
}

/// y[i..<i+G, r] for G ≤ 4 activation rows: per 64 columns one 32-byte load of weights split
/// into its two nibble halves (a 32-bit shift then a byte mask), then one vpdpbusd per
/// activation row and 32 columns. G is a literal at every call site, so each guard folds away.
@_transparent
func q4RowTile(_ G: Int, _ o: Q4Operands, r: Int, i: Int) {
    let columns = o.columns, groups = columns / o.groupSize
    let w = UnsafeRawPointer(o.packed + r * columns / 2)
    let x0 = UnsafeRawPointer(o.x + i * columns)
    let x1 = x0 + (G > 1 ? columns : 0), x2 = x0 + (G > 2 ? 2 * columns : 0), x3 = x0 + (G > 3 ? 3 * columns : 0)
    let mask = SIMD8<Int32>(repeating: 0x0F0F_0F0F)
    @inline(__always) func nibbles(_ offset: Int) -> (low: SIMD8<Int32>, high: SIMD8<Int32>) {
        let v = w.loadUnaligned(fromByteOffset: offset, as: SIMD8<Int32>.self)
        return (v & mask, (v &>> 4) & mask)
    }
    @inline(__always) func dot(_ acc: SIMD8<Int32>, _ q: SIMD8<Int32>, _ x: UnsafeRawPointer, _ k: Int) -> SIMD8<Int32> {
        dotBytes(acc, q, x.loadUnaligned(fromByteOffset: k, as: SIMD8<Int32>.self))
    }
    var acc0 = SIMD4<Float>(), acc1 = SIMD4<Float>(), acc2 = SIMD4<Float>(), acc3 = SIMD4<Float>()
    var g = 0
    while g < groups {
        let count = min(4, groups - g), column = g * o.groupSize
        let chunks = o.groupSize == 32 ? count / 2 : count
        let n0 = nibbles(column / 2)
        let n1 = chunks > 1 ? nibbles(column / 2 + 32) : (low: mask, high: mask)
        let n2 = chunks > 2 ? nibbles(column / 2 + 64) : (low: mask, high: mask)
        let n3 = chunks > 3 ? nibbles(column / 2 + 96) : (low: mask, high: mask)
        // Raw Σ q·x of groups g..<g+count for one activation row (zero for absent groups).
        @inline(__always) func sums(_ x: UnsafeRawPointer) -> SIMD4<Int32> {
            if o.groupSize == 32 {
                let a0 = dot(.zero, n0.low, x, column), a1 = dot(.zero, n0.high, x, column + 32)
                if count < 4 { return horizontalSums(a0, a1, .zero, .zero) }
                return horizontalSums(a0, a1, dot(.zero, n1.low, x, column + 64), dot(.zero, n1.high, x, column + 96))
            }
            @inline(__always) func group(_ j: Int, _ n: (low: SIMD8<Int32>, high: SIMD8<Int32>)) -> SIMD8<Int32> {
                j < count ? dot(dot(.zero, n.low, x, column + 64 * j), n.high, x, column + 64 * j + 32) : .zero
            }
            return horizontalSums(group(0, n0), group(1, n1), group(2, n2), group(3, n3))
        }
        let (zeros, scales) = groupConstants(o, row: r, groups: groups, g: g, count: count)
        @inline(__always) func add(_ acc: inout SIMD4<Float>, _ n: Int, _ x: UnsafeRawPointer) {
            let groupSums = UnsafeRawPointer(o.xGroupSums + (i + n) * o.groupStride + g).loadUnaligned(as: SIMD4<Int32>.self)
            acc = fusedMultiplyAdd(acc, convertToFloat(sums(x) &- zeros &* groupSums), scales)
        }
        add(&acc0, 0, x0)
        if G > 1 { add(&acc1, 1, x1) }
        if G > 2 { add(&acc2, 2, x2) }
        if G > 3 { add(&acc3, 3, x3) }
        g += 4
    }
    @inline(__always) func store(_ n: Int, _ acc: SIMD4<Float>) {
        let value = ((acc[0] + acc[1]) + (acc[2] + acc[3])) * o.xScales[i + n]
        let out = o.y + (i + n) * o.yStride + r
        out.pointee = o.accumulate ? out.pointee + value : value
    }
    store(0, acc0)
    if G > 1 { store(1, acc1) }
    if G > 2 { store(2, acc2) }
    if G > 3 { store(3, acc3) }
}

/// The zero points (as Int32, 8 when symmetric) and widened scales of groups g..<g+count of
/// weight row r, zeros for absent groups (never read past the row's last group).
@inline(__always)
private func groupConstants(_ o: Q4Operands, row r: Int, groups: Int, g: Int, count: Int) -> (SIMD4<Int32>, SIMD4<Float>) {
    let at = r * groups + g
    if count == 4 {
        let zeros = o.zeroPoints.map { widenBytes(UnsafeRawPointer($0 + at).loadUnaligned(as: SIMD4<UInt8>.self)) }
        return (zeros ?? SIMD4(repeating: 8), widenHalfBits(UnsafeRawPointer(o.scales + at).loadUnaligned(as: SIMD4<UInt16>.self)))
    }
    var zeros = SIMD4<UInt8>(repeating: 8), bits = SIMD4<UInt16>()
    for j in 0..<count {
        if let zeroPoints = o.zeroPoints { zeros[j] = zeroPoints[at + j] }
        bits[j] = o.scales[at + j]
    }
    return (widenBytes(zeros), widenHalfBits(bits))
}
#endif
