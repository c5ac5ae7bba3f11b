/// A matrix stored in IEEE half precision, [outFeatures, inFeatures] row-major.
///
/// Sendable by hand: immutable after init; raw pointers into memory it owns or keeps alive.
public final class HalfMatrix: @unchecked Sendable {
    public let rows: Int
    public let columns: Int
    public let values: UnsafePointer<UInt16>
    /// Keeps the memory alive: a mapped file, or the `LargePageArena` block a converted matrix
    /// was written to; nil when this object allocated its memory itself.
    private let owner: AnyObject?

    /// Rounds a float matrix to half precision (round to nearest even), transposing a Conv1D.
    /// `rowsDone` hears of each block of rows once it is converted (see `forEachConversionBlock`).
    public init(
        converting weight: UnsafePointer<Float>, inFeatures: Int, outFeatures: Int, layout: WeightLayout,
        pool: ComputePool = .shared, rowsDone: ((Range<Int>) -> Void)? = nil
    ) {
        rows = outFeatures
        columns = inFeatures
        let memory = LargePageArena.shared.allocate(byteCount: rows * columns * 2)
        let h = memory.bind(to: UInt16.self, count: rows * columns)
        forEachConversionBlock(rows: outFeatures, columns: inFeatures, layout: layout, rowsDone: rowsDone) { block in
            pool.parallelFor(block.count, minimumPerThread: 64) { share in
                for r in (block.lowerBound + share.lowerBound)..<(block.lowerBound + share.upperBound) {
                    for k in 0..<inFeatures {
                        let v = layout == .outputMajor ? weight[r * inFeatures + k] : weight[k * outFeatures + r]
                        h[r * inFeatures + k] = Float16(v).bitPattern
                    }
                }
            }
        }
        values = UnsafePointer(h)
        owner = memory
    }

    /// Wraps half-precision data already in [out, in] layout.
    public init(values: UnsafePointer<UInt16>, rows: Int, columns: Int, owner: AnyObject) {
        self.values = values
        self.rows = rows
        self.columns = columns
        self.owner = owner
    }

    /// A copy of the rows `selected` of `source`, in that order.
    public init(selectingRows selected: [Int], of source: HalfMatrix) {
        rows = selected.count
        columns = source.columns
        let h = UnsafeMutablePointer<UInt16>.allocate(capacity: max(1, rows * columns))
        for (j, r) in selected.enumerated() {
            precondition(r >= 0 && r < source.rows, "row \(r) of a \(source.rows)-row matrix")
            (h + j * columns).update(from: source.values + r * columns, count: columns)
        }
        values = UnsafePointer(h)
        owner = nil
    }

    public var byteCount: Int { rows * columns * 2 }

    deinit {
        if owner == nil { UnsafeMutablePointer(mutating: values).deallocate() }
    }
}
