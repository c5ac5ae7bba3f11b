import Foundation

/// The arithmetic of speculative sampling (Leviathan et al. 2023, Chen et al. 2023): a draft
/// token d drawn from q is kept with probability min(1, p(d)/q(d)); on rejection the token is
/// drawn from norm(max(0, p - q)). The tokens that come out are distributed exactly as p.
public enum SpeculativeSampling {
    /// out = softmax(scores), with removed (-inf) tokens at exactly 0.
    public static func probabilities(out: UnsafeMutablePointer<Float>, scores: UnsafePointer<Float>, count: Int) {
        var maximum = -Float.infinity
        for i in 0..<count { maximum = max(maximum, scores[i]) }
        var total: Double = 0
        for i in 0..<count {
            let e = Double(expf(scores[i] - maximum))
            out[i] = Float(e)
            total += e
        }
        let scale = Float(1 / total)
        for i in 0..<count { out[i] *= scale }
    }

    /// The token whose cumulative probability first passes `uniform` ∈ [0, 1).
    public static func draw(_ probabilities: UnsafePointer<Float>, count: Int, uniform: Double) -> Int {
        var total: Double = 0
        for i in 0..<count { total += Double(probabilities[i]) }
        return drawScaled(count: count, target: uniform * total) { probabilities[$0] }
    }

    /// Whether the draft's token survives: uniform < p(token) / q(token).
    public static func accepts(
        _ token: Int, target p: UnsafePointer<Float>, draft q: UnsafePointer<Float>, uniform: Double
    ) -> Bool {
        uniform * Double(q[token]) < Double(p[token])
    }

    /// A draw from norm(max(0, p - q)), the correction after a rejection. When rounding leaves
    /// no mass there (p and q equal up to float error), a draw from p itself.
    public static func drawResidual(
        target p: UnsafePointer<Float>, draft q: UnsafePointer<Float>, count: Int, uniform: Double
    ) -> Int {
        var total: Double = 0
        for i in 0..<count { total += Double(max(0, p[i] - q[i])) }
        guard total > 0 else { return draw(p, count: count, uniform: uniform) }
        return drawScaled(count: count, target: uniform * total) { Double(max(0, p[$0] - q[$0])) }
    }

    @inline(__always)
    private static func drawScaled<W: BinaryFloatingPoint>(count: Int, target: Double, weight: (Int) -> W) -> Int {
        var cumulative: Double = 0
        var last = 0
        for i in 0..<count {
            let w = Double(weight(i))
            guard w > 0 else { continue }
            cumulative += w
            last = i
            if cumulative > target { return i }
        }
        return last  // rounding left the target past the end: the last possible token
    }
}
