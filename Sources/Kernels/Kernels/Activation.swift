import Foundation

/// Element-wise activations by their transformers names (`ACT2FN`).
public enum Activation: String, Sendable, CaseIterable {
    /// GPT-2's tanh approximation: 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))).
    case geluNew = "gelu_new"
    /// Same formula as `gelu_new` (PyTorch's `approximate="tanh"`).
    case geluPyTorchTanh = "gelu_pytorch_tanh"
    /// Same formula as `gelu_new`, written differently upstream.
    case geluFast = "gelu_fast"
    /// The exact GELU: 0.5·x·(1 + erf(x/√2)).
    case gelu = "gelu"
    case relu = "relu"
    case silu = "silu"
    case swish = "swish"
    /// x·sigmoid(1.702·x).
    case quickGelu = "quick_gelu"

    /// Applies the activation to `count` elements in place.
    public func apply(_ x: UnsafeMutablePointer<Float>, count: Int) {
        switch self {
        case .geluNew, .geluPyTorchTanh, .geluFast: geluTanh(x, count: count)
        case .gelu: geluErf(x, count: count)
        case .relu: for i in 0..<count { x[i] = max(x[i], 0) }
        case .silu, .swish: for i in 0..<count { x[i] = x[i] / (1 + expf(-x[i])) }
        case .quickGelu: for i in 0..<count { x[i] = x[i] / (1 + expf(-1.702 * x[i])) }
        }
    }
}

/// GELU, tanh form (GPT-2's `gelu_new`), in place, 8 lanes at a time.
public func geluTanh(_ x: UnsafeMutablePointer<Float>, count: Int) {
    let c: Float = 0.7978845608028654  // √(2/π)
    let raw = UnsafeMutableRawPointer(x)
    var i = 0
    while i + 8 <= count {
        let v = raw.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self)
        let inner = c * (v + 0.044715 * v * v * v)
        raw.storeBytes(of: 0.5 * v * (1 + tanh8(inner)), toByteOffset: i * 4, as: SIMD8<Float>.self)
        i += 8
    }
    while i < count {
        let v = x[i]
        x[i] = 0.5 * v * (1 + tanhf(c * (v + 0.044715 * v * v * v)))
        i += 1
    }
}

/// GELU, exact erf form, in place.
public func geluErf(_ x: UnsafeMutablePointer<Float>, count: Int) {
    for i in 0..<count {
        let v = x[i]
        x[i] = 0.5 * v * (1 + erff(v * 0.7071067811865476))
    }
}
