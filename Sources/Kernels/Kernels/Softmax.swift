import Foundation

/// Numerically stable softmax of `count` elements in place. Entries of -inf
/// (masked) become exactly 0.
public func softmax(_ x: UnsafeMutablePointer<Float>, count: Int) {
    guard count > 0 else { return }
    let maximum = largestElement(x, count: count)
    guard maximum > -Float.infinity else {
        // Everything masked: torch would give NaN. No caller masks a whole row,
        // and zeros keep a bug from spreading NaN through the network.
        for i in 0..<count { x[i] = 0 }
        return
    }
    var sum: Float = 0
    let raw = UnsafeMutableRawPointer(x)
    let shift = SIMD8<Float>(repeating: maximum)
    var partial = SIMD8<Float>()
    var i = 0
    while i + 8 <= count {
        let e = exp8(raw.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self) - shift)
        raw.storeBytes(of: e, toByteOffset: i * 4, as: SIMD8<Float>.self)
        partial += e
        i += 8
    }
    sum = partial.sum()
    while i < count {
        let e = expf(x[i] - maximum)
        x[i] = e
        sum += e
        i += 1
    }
    let inverse = 1 / sum
    for i in 0..<count { x[i] *= inverse }
}

/// log-softmax of `count` elements into `out` (beam search scores). `out` may alias `input`.
///
/// Vectorized like `softmax`: beam search runs it over every beam's row of the vocabulary
/// each step (256k entries for NLLB), where the scalar loop with a libm expf per entry was
/// 15% of a batch-16 beam-4 translation.
public func logSoftmax(out: UnsafeMutablePointer<Float>, input: UnsafePointer<Float>, count: Int) {
    guard count > 0 else { return }
    let maximum = largestElement(input, count: count)
    let raw = UnsafeRawPointer(input)
    let rawOut = UnsafeMutableRawPointer(out)
    let shift = SIMD8<Float>(repeating: maximum)
    var partial = SIMD8<Float>()
    var i = 0
    while i + 8 <= count {
        partial += exp8(raw.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self) - shift)
        i += 8
    }
    var sum = partial.sum()
    while i < count {
        sum += expf(input[i] - maximum)
        i += 1
    }
    let logSum = maximum + logf(sum)
    let shiftOut = SIMD8<Float>(repeating: logSum)
    i = 0
    while i + 8 <= count {
        rawOut.storeBytes(
            of: raw.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self) - shiftOut, toByteOffset: i * 4,
            as: SIMD8<Float>.self)
        i += 8
    }
    while i < count {
        out[i] = input[i] - logSum
        i += 1
    }
}

/// max of `count` > 0 floats, eight lanes at a time (NaNs are skipped). Compare-and-blend
/// rather than the stdlib's `pointwiseMax`, which stays a generic out-of-line call.
@inline(__always)
func largestElement(_ x: UnsafePointer<Float>, count: Int) -> Float {
    let raw = UnsafeRawPointer(x)
    var lanes = SIMD8<Float>(repeating: -.infinity)
    var i = 0
    while i + 8 <= count {
        let v = raw.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self)
        lanes.replace(with: v, where: v .> lanes)
        i += 8
    }
    var maximum = lanes.max()
    while i < count {
        maximum = max(maximum, x[i])
        i += 1
    }
    return maximum
}

/// log-softmax over the entries `indices` of `row`, in place, when every other entry is -inf
/// (a restricted output layer's row): those stay -inf, which is their log-softmax, and are
/// never read. Beam search over NLLB with a vocabulary map then normalizes a few thousand
/// entries per row instead of 256k.
public func logSoftmax(_ row: UnsafeMutablePointer<Float>, at indices: UnsafeBufferPointer<Int>) {
    guard !indices.isEmpty else { return }
    var maximum = -Float.infinity
    for i in indices where row[i] > maximum { maximum = row[i] }
    let shift = SIMD8<Float>(repeating: maximum)
    var partial = SIMD8<Float>()
    var j = 0
    while j + 8 <= indices.count {
        let group = SIMD8<Float>(
            row[indices[j]], row[indices[j + 1]], row[indices[j + 2]], row[indices[j + 3]],
            row[indices[j + 4]], row[indices[j + 5]], row[indices[j + 6]], row[indices[j + 7]])
        partial += exp8(group - shift)
        j += 8
    }
    var sum = partial.sum()
    while j < indices.count {
        sum += expf(row[indices[j]] - maximum)
        j += 1
    }
    let logSum = maximum + logf(sum)
    for i in indices { row[i] -= logSum }
}
