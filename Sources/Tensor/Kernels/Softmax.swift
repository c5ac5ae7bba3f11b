import Foundation

/// Numerically stable softmax of `count` elements in place. Entries of -inf
/// (masked) become exactly 0.
public func softmax(_ x: UnsafeMutablePointer<Float>, count: Int) {
    guard count > 0 else { return }
    var maximum = -Float.infinity
    for i in 0..<count { maximum = max(maximum, x[i]) }
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
public func logSoftmax(out: UnsafeMutablePointer<Float>, input: UnsafePointer<Float>, count: Int) {
    guard count > 0 else { return }
    var maximum = -Float.infinity
    for i in 0..<count { maximum = max(maximum, input[i]) }
    var sum: Float = 0
    for i in 0..<count { sum += expf(input[i] - maximum) }
    let logSum = maximum + logf(sum)
    for i in 0..<count { out[i] = input[i] - logSum }
}
