import Foundation

/// How a `Q4Matrix` groups and offsets its 4-bit values.
public struct Q4Format: Equatable, Sendable, CustomStringConvertible {
    /// Consecutive input columns sharing one scale (and zero point): 32 or 64.
    public let groupSize: Int
    /// Whether each group stores a zero point (w = s·(q − z), the group's [min, max] mapped
    /// onto 0...15) or is symmetric (w = s·(q − 8), the largest magnitude mapped onto −8).
    public let hasZeroPoint: Bool

    public static let supportedGroupSizes = [32, 64]

    public init(groupSize: Int, hasZeroPoint: Bool) {
        precondition(
            Q4Format.supportedGroupSizes.contains(groupSize),
            "q4 groups are 32 or 64 columns, not "
                + "\(groupSize)")
        self.groupSize = groupSize
        self.hasZeroPoint = hasZeroPoint
    }

    /// What `--dtype q4` uses: symmetric groups of 32, llama.cpp's q4_0 grouping. Of the four
    /// formats it agreed best with f32 on GPT-2-sized weights at the least bytes but g64's, which
    /// costs more quality (Benchmarks/README.md has the figures).
    public static let standard = Q4Format(groupSize: 32, hasZeroPoint: false)

    /// `standard`, unless `OCTAVO_Q4_FORMAT` names another format (g32, g32-zp, g64, g64-zp),
    /// to compare them.
    public static let selected: Q4Format = {
        guard let name = ProcessInfo.processInfo.environment["OCTAVO_Q4_FORMAT"] else { return standard }
        if let format = Q4Format(name: name) { return format }
        let message = "octavo: OCTAVO_Q4_FORMAT=\(name) is not g32, g32-zp, g64 or g64-zp; using \(standard)\n"
        FileHandle.standardError.write(Data(message.utf8))
        return standard
    }()

    /// Parses `g32`, `g32-zp`, `g64` or `g64-zp`.
    public init?(name: String) {
        let parts = name.split(separator: "-")
        guard let first = parts.first, first.hasPrefix("g"), let size = Int(first.dropFirst()),
            Q4Format.supportedGroupSizes.contains(size), parts.count == 1 || (parts.count == 2 && parts[1] == "zp")
        else { return nil }
        self.init(groupSize: size, hasZeroPoint: parts.count == 2)
    }

    public var description: String { "g\(groupSize)" + (hasZeroPoint ? "-zp" : "") }
}

/// A matrix stored in 4 bits per weight, [outFeatures, inFeatures], in groups of
/// `groupSize` input columns with an f16 scale each (and a zero point with
/// `Q4Format.hasZeroPoint`): W[r, k] ≈ scale[r, g] · (q[r, k] − zero[r, g]), q in 0...15.
///
/// Each row is padded with zero weights to `paddedColumns`, a multiple of 64, and packed 64
/// columns to 32 bytes: byte j of a 64-column chunk holds column j in its low nibble and
/// column 32 + j in its high one, so that one 32-byte load gives two 32-column runs that line
/// up with the activations as they are (`Q4Activations`).
public final class Q4Matrix: @unchecked Sendable {
    public let rows: Int
    /// The input features; the stored rows are `paddedColumns` long.
    public let columns: Int
    public let groupSize: Int
    /// rows × paddedColumns / 2 bytes.
    public let packed: UnsafePointer<UInt8>
    /// rows × groups half floats (their bits).
    public let scales: UnsafePointer<UInt16>
    /// rows × groups values in 0...15, or nil for a symmetric matrix (every zero point 8).
    public let zeroPoints: UnsafePointer<UInt8>?
    /// Keeps the memory alive: a mapped file, or the `LargePageArena` block a quantized matrix
    /// was written to; nil when this object allocated its memory itself.
    private let owner: AnyObject?

    /// Columns rounded up to whole 64-column chunks.
    public static func paddedColumns(_ columns: Int) -> Int { (columns + 63) / 64 * 64 }

    public var paddedColumns: Int { Q4Matrix.paddedColumns(columns) }
    public var groups: Int { paddedColumns / groupSize }
    public var format: Q4Format { Q4Format(groupSize: groupSize, hasZeroPoint: zeroPoints != nil) }

    /// Quantizes a float matrix group by group (see `Q4Format`), transposing a Conv1D.
    /// `rowsDone` hears of each block of rows once it is quantized (see `forEachConversionBlock`).
    public init(
        quantizing weight: UnsafePointer<Float>, inFeatures: Int, outFeatures: Int, layout: WeightLayout,
        format: Q4Format = .selected, pool: ComputePool = .shared, rowsDone: ((Range<Int>) -> Void)? = nil
    ) {
        rows = outFeatures
        columns = inFeatures
        groupSize = format.groupSize
        let padded = Q4Matrix.paddedColumns(inFeatures)
        let groups = padded / format.groupSize
        let packedBytes = (rows * padded / 2 + 63) & ~63
        let scaleBytes = (rows * groups * 2 + 63) & ~63
        let memory = LargePageArena.shared.allocate(
            byteCount: packedBytes + scaleBytes + (format.hasZeroPoint ? rows * groups : 0))
        let q = memory.bind(to: UInt8.self, count: rows * padded / 2)
        let s = memory.bind(to: UInt16.self, byteOffset: packedBytes, count: rows * groups)
        let z =
            format.hasZeroPoint
            ? memory.bind(to: UInt8.self, byteOffset: packedBytes + scaleBytes, count: rows * groups) : nil
        forEachConversionBlock(rows: outFeatures, columns: inFeatures, layout: layout, rowsDone: rowsDone) { block in
            pool.parallelFor(block.count, minimumPerThread: 64) { share in
                let row = UnsafeMutablePointer<Float>.allocate(capacity: padded)
                let values = UnsafeMutablePointer<UInt8>.allocate(capacity: padded)
                defer {
                    row.deallocate()
                    values.deallocate()
                }
                for r in (block.lowerBound + share.lowerBound)..<(block.lowerBound + share.upperBound) {
                    for k in 0..<padded {
                        row[k] =
                            k >= inFeatures
                            ? 0 : layout == .outputMajor ? weight[r * inFeatures + k] : weight[k * outFeatures + r]
                    }
                    for g in 0..<groups {
                        let start = g * format.groupSize
                        let zero = quantizeGroup(
                            row + start, count: min(format.groupSize, max(0, inFeatures - start)),
                            padding: format.groupSize, into: values + start, scale: s + r * groups + g,
                            zeroPoint: format.hasZeroPoint)
                        z?[r * groups + g] = zero
                    }
                    Q4Matrix.pack(values, columns: padded, into: q + r * padded / 2)
                }
            }
        }
        packed = UnsafePointer(q)
        scales = UnsafePointer(s)
        zeroPoints = z.map { UnsafePointer($0) }
        owner = memory
    }

    /// Wraps already-packed data (read from a file written by `octavo-infer quantize`), which
    /// `owner` keeps alive. The caller has checked the sizes and that every zero point is ≤ 15.
    public init(
        packed: UnsafePointer<UInt8>, scales: UnsafePointer<UInt16>, zeroPoints: UnsafePointer<UInt8>?,
        rows: Int, columns: Int, groupSize: Int, owner: AnyObject
    ) {
        precondition(Q4Format.supportedGroupSizes.contains(groupSize))
        self.packed = packed
        self.scales = scales
        self.zeroPoints = zeroPoints
        self.rows = rows
        self.columns = columns
        self.groupSize = groupSize
        self.owner = owner
    }

    /// A copy of the rows `selected` of `source`, in that order, with their scales and zero points.
    public init(selectingRows selected: [Int], of source: Q4Matrix) {
        rows = selected.count
        columns = source.columns
        groupSize = source.groupSize
        let rowBytes = source.paddedColumns / 2
        let groups = source.groups
        let q = UnsafeMutablePointer<UInt8>.allocate(capacity: max(1, rows * rowBytes))
        let s = UnsafeMutablePointer<UInt16>.allocate(capacity: max(1, rows * groups))
        let z = source.zeroPoints == nil ? nil : UnsafeMutablePointer<UInt8>.allocate(capacity: max(1, rows * groups))
        for (j, r) in selected.enumerated() {
            precondition(r >= 0 && r < source.rows, "row \(r) of a \(source.rows)-row matrix")
            (q + j * rowBytes).update(from: source.packed + r * rowBytes, count: rowBytes)
            (s + j * groups).update(from: source.scales + r * groups, count: groups)
            if let z, let from = source.zeroPoints { (z + j * groups).update(from: from + r * groups, count: groups) }
        }
        packed = UnsafePointer(q)
        scales = UnsafePointer(s)
        zeroPoints = z.map { UnsafePointer($0) }
        owner = nil
    }

    /// Packs `columns` (a multiple of 64) values in 0...15 into `columns / 2` bytes, as laid
    /// out in the type's description.
    public static func pack(_ values: UnsafePointer<UInt8>, columns: Int, into bytes: UnsafeMutablePointer<UInt8>) {
        for chunk in stride(from: 0, to: columns, by: 64) {
            for j in 0..<32 { bytes[chunk / 2 + j] = values[chunk + j] | values[chunk + 32 + j] << 4 }
        }
    }

    /// The stored 4-bit value of row r, column k (0...15).
    public func storedValue(row r: Int, column k: Int) -> UInt8 {
        let byte = packed[r * paddedColumns / 2 + (k / 64) * 32 + k % 32]
        return k % 64 < 32 ? byte & 0x0F : byte >> 4
    }

    /// The integer W[r, k] / scale: the stored value minus its group's zero point (−15...15).
    public func integerValue(row r: Int, column k: Int) -> Int {
        Int(storedValue(row: r, column: k)) - Int(zeroPoint(row: r, group: k / groupSize))
    }

    public func zeroPoint(row r: Int, group g: Int) -> UInt8 { zeroPoints?[r * groups + g] ?? 8 }

    public func scale(row r: Int, group g: Int) -> Float { Float(Float16(bitPattern: scales[r * groups + g])) }

    /// W[r, k] as the kernels see it.
    public func dequantized(row r: Int, column k: Int) -> Float {
        scale(row: r, group: k / groupSize) * Float(integerValue(row: r, column: k))
    }

    /// Bytes of packed weights, scales and zero points.
    public var byteCount: Int { rows * paddedColumns / 2 + rows * groups * (zeroPoints == nil ? 2 : 3) }

    deinit {
        if owner == nil {
            UnsafeMutablePointer(mutating: packed).deallocate()
            UnsafeMutablePointer(mutating: scales).deallocate()
            if let zeroPoints { UnsafeMutablePointer(mutating: zeroPoints).deallocate() }
        }
    }
}

/// Quantizes one group of `count` floats (zeros after them up to `padding`) to values in
/// 0...15 with an f16 scale, and returns the zero point (8 when symmetric). Rounds with the
/// f16 scale actually stored, so the values fit the scale the kernels multiply by.
@inline(__always)
func quantizeGroup(
    _ x: UnsafePointer<Float>, count: Int, padding: Int, into q: UnsafeMutablePointer<UInt8>,
    scale: UnsafeMutablePointer<UInt16>, zeroPoint: Bool
) -> UInt8 {
    var lowest: Float = 0
    var highest: Float = 0
    var extreme: Float = 0
    for k in 0..<count {
        lowest = min(lowest, x[k])
        highest = max(highest, x[k])
        if abs(x[k]) > abs(extreme) { extreme = x[k] }
    }
    // Symmetric: the extreme lands on −8, whichever its sign (−8...7 is one step wider below).
    // With a zero point: [min(0, lowest), max(0, highest)] spans 0...15, so zero stays exact.
    let step = Float16(zeroPoint ? (highest - lowest) / 15 : extreme / -8)
    scale.pointee = step.bitPattern
    let s = Float(step)
    let inverse: Float = s != 0 ? 1 / s : 0
    let zero: Int32 = zeroPoint ? min(15, max(0, roundToInt32(-lowest * inverse))) : 8
    for k in 0..<padding {
        let v = k < count ? roundToInt32(x[k] * inverse) &+ zero : zero
        q[k] = UInt8(truncatingIfNeeded: min(15, max(0, v)))
    }
    return UInt8(truncatingIfNeeded: zero)
}
