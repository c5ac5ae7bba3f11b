/// A matrix stored as symmetric int8 per output row:
/// W[r, k] ≈ scales[r] · values[r, k], values in [-127, 127], rows = output features.
///
/// The layout is always [outFeatures, inFeatures] (a GPT-2 Conv1D is transposed
/// when quantized) so that a row of weights is one contiguous dot product.
///
/// Sendable by hand: immutable after init; raw pointers into memory it owns or keeps alive.
public final class Int8Matrix: @unchecked Sendable {
    public let rows: Int
    public let columns: Int
    public let values: UnsafePointer<Int8>
    public let scales: UnsafePointer<Float>
    /// Σ_k values[r, k] per row, for the VNNI kernel (which adds 128 to every activation and
    /// takes 128·Σ back out).
    public let rowSums: UnsafePointer<Int32>
    /// Whether `rowSums` was allocated here (not borrowed from a file with the values).
    private let ownsRowSums: Bool
    /// Keeps the memory alive: a mapped file, or the `LargePageArena` block a quantized matrix
    /// was written to; nil when this object allocated its memory itself.
    private let owner: AnyObject?

    /// Quantizes a float matrix: each output row scaled so its largest magnitude maps to 127.
    /// `rowsDone` hears of each block of rows once it is quantized (see `forEachConversionBlock`).
    public init(
        quantizing weight: UnsafePointer<Float>, inFeatures: Int, outFeatures: Int, layout: WeightLayout,
        pool: ComputePool = .shared, rowsDone: ((Range<Int>) -> Void)? = nil
    ) {
        rows = outFeatures
        columns = inFeatures
        let valueBytes = (rows * columns + 63) & ~63
        let memory = LargePageArena.shared.allocate(byteCount: valueBytes + rows * 8)
        let q = memory.bind(to: Int8.self, count: rows * columns)
        let s = memory.bind(to: Float.self, byteOffset: valueBytes, count: rows)
        let sums = memory.bind(to: Int32.self, byteOffset: valueBytes + rows * 4, count: rows)
        forEachConversionBlock(rows: outFeatures, columns: inFeatures, layout: layout, rowsDone: rowsDone) { block in
            pool.parallelFor(block.count, minimumPerThread: 64) { share in
                let row = UnsafeMutablePointer<Float>.allocate(capacity: max(1, inFeatures))
                defer { row.deallocate() }
                for r in (block.lowerBound + share.lowerBound)..<(block.lowerBound + share.upperBound) {
                    for k in 0..<inFeatures {
                        row[k] = layout == .outputMajor ? weight[r * inFeatures + k] : weight[k * outFeatures + r]
                    }
                    quantizeRow(row, count: inFeatures, into: q + r * inFeatures, scale: s + r)
                    sums[r] = Int8Matrix.sum(q + r * inFeatures, count: inFeatures)
                }
            }
        }
        values = UnsafePointer(q)
        scales = UnsafePointer(s)
        rowSums = UnsafePointer(sums)
        ownsRowSums = false
        owner = memory
    }

    /// Wraps already-quantized data (e.g. read from a file written by `octavo-infer quantize`),
    /// borrowing `rowSums` too when the file stores them. Without them every value is read once
    /// to sum the rows: NLLB-600M's 600 MB of int8 took about 490 ms to load that way, against
    /// about 13 ms with the sums stored.
    public init(
        values: UnsafePointer<Int8>, scales: UnsafePointer<Float>, rows: Int, columns: Int, owner: AnyObject,
        rowSums storedSums: UnsafePointer<Int32>? = nil, pool: ComputePool = .shared
    ) {
        self.values = values
        self.scales = scales
        self.rows = rows
        self.columns = columns
        self.owner = owner
        if let storedSums {
            rowSums = storedSums
            ownsRowSums = false
            return
        }
        ownsRowSums = true
        let sums = UnsafeMutablePointer<Int32>.allocate(capacity: max(1, rows))
        pool.parallelFor(rows, minimumPerThread: 64) { range in
            for r in range { sums[r] = Int8Matrix.sum(values + r * columns, count: columns) }
        }
        rowSums = UnsafePointer(sums)
    }

    /// A copy of the rows `selected` of `source`, in that order, with their scales and sums.
    public init(selectingRows selected: [Int], of source: Int8Matrix) {
        rows = selected.count
        columns = source.columns
        let q = UnsafeMutablePointer<Int8>.allocate(capacity: max(1, rows * columns))
        let s = UnsafeMutablePointer<Float>.allocate(capacity: max(1, rows))
        let sums = UnsafeMutablePointer<Int32>.allocate(capacity: max(1, rows))
        for (j, r) in selected.enumerated() {
            precondition(r >= 0 && r < source.rows, "row \(r) of a \(source.rows)-row matrix")
            (q + j * columns).update(from: source.values + r * columns, count: columns)
            s[j] = source.scales[r]
            sums[j] = source.rowSums[r]
        }
        values = UnsafePointer(q)
        scales = UnsafePointer(s)
        rowSums = UnsafePointer(sums)
        ownsRowSums = true
        owner = nil
    }

    private static func sum(_ row: UnsafePointer<Int8>, count: Int) -> Int32 {
        var sum: Int32 = 0
        for k in 0..<count { sum &+= Int32(truncatingIfNeeded: row[k]) }
        return sum
    }

    /// Bytes of weights, scales and row sums.
    public var byteCount: Int { rows * columns + rows * 8 }

    deinit {
        if ownsRowSums { UnsafeMutablePointer(mutating: rowSums).deallocate() }
        if owner == nil {
            UnsafeMutablePointer(mutating: values).deallocate()
            UnsafeMutablePointer(mutating: scales).deallocate()
        }
    }
}

/// Symmetric int8 quantization of one vector: scale = max|x| / 127, q = round(x / scale).
@inline(__always)
public func quantizeRow(
    _ x: UnsafePointer<Float>, count: Int, into q: UnsafeMutablePointer<Int8>, scale: UnsafeMutablePointer<Float>
) {
    var maximum: Float = 0
    for k in 0..<count { maximum = max(maximum, abs(x[k])) }
    let s = maximum / 127
    scale.pointee = s
    let inverse: Float = s > 0 ? 1 / s : 0
    for k in 0..<count {
        q[k] = Int8(truncatingIfNeeded: roundToInt32(x[k] * inverse))
    }
}
