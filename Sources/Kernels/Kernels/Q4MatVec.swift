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
        let padded = Q4Matrix.paddedColumns(columns), stride = (padded / groupSize + 3) / 4 * 4
        return rows * stride * 4 + (rows * 4 + 63) / 64 * 64 + rows * padded
    }

    /// Quantizes `rows` rows of `columns` floats from `x` into `memory` (64-byte aligned,
    /// `byteCount` bytes).
    public init(quantizing x: UnsafePointer<Float>, rows: Int, columns: Int, groupSize: Int, memory: UnsafeMutableRawPointer) {
        self.rows = rows
        self.columns = columns
        self.groupSize = groupSize
        paddedColumns = Q4Matrix.paddedColumns(columns)
        let groups = paddedColumns / groupSize
        groupStride = (groups + 3) / 4 * 4
        groupSums = memory.bindMemory(to: Int32.self, capacity: rows * groupStride)
        let scaleBytes = (rows * 4 + 63) / 64 * 64
        scales = (memory + rows * groupStride * 4).bindMemory(to: Float.self, capacity: rows)
        values = (memory + rows * groupStride * 4 + scaleBytes).bindMemory(to: Int8.self, capacity: rows * paddedColumns)
        for i in 0..<rows {
            let row = x + i * columns, out = values + i * paddedColumns, sums = groupSums + i * groupStride
            var maximum: Float = 0
            for k in 0..<columns { maximum = max(maximum, abs(row[k])) }
            let s = maximum / 127
            scales[i] = s
            let inverse: Float = s > 0 ? 1 / s : 0
            for k in 0..<columns { out[k] = Int8(truncatingIfNeeded: roundToInt32(row[k] * inverse)) }
            for k in columns..<paddedColumns { out[k] = 0 }
            for g in 0..<groupStride {
                var sum: Int32 = 0
                if g < groups { for k in (g * groupSize)..<((g + 1) * groupSize) { sum &+= Int32(truncatingIfNeeded: out[k]) } }
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
/// activation rows at a time, unpacked once for them.
public func matmulQ4(
    y: UnsafeMutablePointer<Float>, yStride: Int, x: Q4Activations, weight: Q4Matrix, rowRange: Range<Int>, accumulate: Bool,
    kernel: Int8Kernel = .selected
) {
    precondition(x.paddedColumns == weight.paddedColumns && x.groupSize == weight.groupSize)
    #if arch(x86_64)
    if kernel == .avx512VNNI {
        q4ProductVNNI(
            y: y, yStride: yStride, x: x.values, xScales: x.scales, xGroupSums: x.groupSums, groupStride: x.groupStride,
            activations: x.rows, packed: weight.packed, scales: weight.scales, zeroPoints: weight.zeroPoints,
            columns: weight.paddedColumns, groupSize: weight.groupSize, rowRange: rowRange, accumulate: accumulate)
        return
    }
    let o = Q4Operands(y: y, yStride: yStride, x: x, weight: weight, accumulate: accumulate)
    for r in rowRange {
        var i = 0
        while i + 4 <= x.rows {
            q4RowTile(4, o, r: r, i: i)
            i += 4
        }
        switch x.rows - i {
        case 3: q4RowTile(3, o, r: r, i: i)
        case 2: q4RowTile(2, o, r: r, i: i)
        case 1: q4RowTile(1, o, r: r, i: i)
        default: break
        }
    }
    #else
    for r in rowRange {
        for i in 0..<x.rows { q4Portable(y: y, yStride: yStride, x: x, weight: weight, r: r, i: i, accumulate: accumulate) }
    }
    #endif
}

#if arch(x86_64)
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
/// lanes). G is a literal at every call site (always inlined), so each guard folds away.
@inline(__always)
private func q4RowTile(_ G: Int, _ o: Q4Operands, r: Int, i: Int) {
    let columns = o.columns, groups = columns / o.groupSize
    let w = UnsafeRawPointer(o.packed + r * columns / 2)
    let x0 = UnsafeRawPointer(o.x + i * columns)
    let x1 = x0 + (G > 1 ? columns : 0), x2 = x0 + (G > 2 ? 2 * columns : 0), x3 = x0 + (G > 3 ? 3 * columns : 0)
    let mask = SIMD32<UInt8>(repeating: 0x0F), ones = SIMD16<Int16>(repeating: 1)
    @inline(__always) func nibbles(_ offset: Int) -> (low: SIMD32<UInt8>, high: SIMD32<UInt8>) {
        let v = w.loadUnaligned(fromByteOffset: offset, as: SIMD32<UInt8>.self)
        return (v & mask, (v &>> 4) & mask)
    }
    @inline(__always) func pairs(_ q: SIMD32<UInt8>, _ x: UnsafeRawPointer, _ k: Int) -> SIMD16<Int16> {
        multiplyAddUnsignedSignedPairs(q, x.loadUnaligned(fromByteOffset: k, as: SIMD32<Int8>.self))
    }
    @inline(__always) func lanes(_ p: SIMD16<Int16>) -> SIMD8<Int32> { multiplyAddAdjacentPairs(p, ones) }
    var acc0 = SIMD4<Float>(), acc1 = SIMD4<Float>(), acc2 = SIMD4<Float>(), acc3 = SIMD4<Float>()
    var g = 0
    while g < groups {
        let count = min(4, groups - g), column = g * o.groupSize
        // The nibbles of up to four 64-column chunks, unpacked once for every activation row.
        let chunks = o.groupSize == 32 ? count / 2 : count
        let n0 = nibbles(column / 2)
        let n1 = chunks > 1 ? nibbles(column / 2 + 32) : (low: mask, high: mask)
        let n2 = chunks > 2 ? nibbles(column / 2 + 64) : (low: mask, high: mask)
        let n3 = chunks > 3 ? nibbles(column / 2 + 96) : (low: mask, high: mask)
        // Raw Σ q·x of groups g..<g+count for one activation row (zero for absent groups).
        @inline(__always) func sums(_ x: UnsafeRawPointer) -> SIMD4<Int32> {
            if o.groupSize == 32 {
                let a0 = lanes(pairs(n0.low, x, column)), a1 = lanes(pairs(n0.high, x, column + 32))
                if count < 4 { return horizontalSums(a0, a1, .zero, .zero) }
                return horizontalSums(a0, a1, lanes(pairs(n1.low, x, column + 64)), lanes(pairs(n1.high, x, column + 96)))
            }
            // Two pair sums add up to at most 2·2·15·127 in an Int16 lane.
            @inline(__always) func group(_ j: Int, _ n: (low: SIMD32<UInt8>, high: SIMD32<UInt8>)) -> SIMD8<Int32> {
                j < count ? lanes(pairs(n.low, x, column + 64 * j) &+ pairs(n.high, x, column + 64 * j + 32)) : .zero
            }
            return horizontalSums(group(0, n0), group(1, n1), group(2, n2), group(3, n3))
        }
        let (zeros, scales) = q4GroupConstants(o.zeroPoints, o.scales, row: r, groups: groups, g: g, count: count)
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
private func q4GroupConstants(_ zeroPoints: UnsafePointer<UInt8>?, _ scales: UnsafePointer<UInt16>, row r: Int, groups: Int,
                              g: Int, count: Int) -> (SIMD4<Int32>, SIMD4<Float>) {
    let at = r * groups + g
    if count == 4 {
        let zeros = zeroPoints.map { widenBytes(UnsafeRawPointer($0 + at).loadUnaligned(as: SIMD4<UInt8>.self)) }
        return (zeros ?? SIMD4(repeating: 8), widenHalfBits(UnsafeRawPointer(scales + at).loadUnaligned(as: SIMD4<UInt16>.self)))
    }
    var zeros = SIMD4<UInt8>(repeating: 8), bits = SIMD4<UInt16>()
    for j in 0..<count {
        if let zeroPoints { zeros[j] = zeroPoints[at + j] }
        bits[j] = scales[at + j]
    }
    return (widenBytes(zeros), widenHalfBits(bits))
}
#else
/// The same sums and float arithmetic as the x86 kernels, one element at a time.
private func q4Portable(
    y: UnsafeMutablePointer<Float>, yStride: Int, x: Q4Activations, weight: Q4Matrix, r: Int, i: Int, accumulate: Bool
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
