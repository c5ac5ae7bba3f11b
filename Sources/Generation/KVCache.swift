import Kernels
import Tensor

/// What a KV cache keeps its keys and values as.
public enum KVCachePrecision: String, Sendable, CaseIterable {
    /// Exactly what the projections produced (the default: parity with transformers).
    case f32
    /// IEEE half floats, rounded to nearest even (torch's `.half()`): half the memory, and half
    /// the bytes attention reads per step, which is what batched int8 decode waits on. The
    /// same choice as llama.cpp's default `--cache-type-k/v f16`; logits then differ from fp32
    /// by the rounding of the keys and values.
    case f16

    var elementBytes: Int {
        switch self {
        case .f32: MemoryLayout<Float>.stride
        case .f16: MemoryLayout<Float16>.stride
        }
    }
}

/// The keys and values one sequence has produced, for every layer of a model.
///
/// Layout per layer: [heads, capacity, headDim], so a decode step streams each head's keys
/// once. Allocated once at its full capacity: appending never allocates.
///
/// Sendable by hand: owns raw buffers; one sequence's cache is written by one executor thread at a time.
public final class KVCache: @unchecked Sendable {
    public let layers: Int
    public let heads: Int
    public let headDim: Int
    public let capacity: Int
    public let precision: KVCachePrecision
    /// Positions filled so far (the next token goes to position `length`).
    public private(set) var length: Int = 0

    private let keyStorage: UnsafeMutableRawPointer
    private let valueStorage: UnsafeMutableRawPointer

    public init(layers: Int, heads: Int, headDim: Int, capacity: Int, precision: KVCachePrecision = .f32) {
        precondition(layers > 0 && heads > 0 && headDim > 0 && capacity > 0)
        self.layers = layers
        self.heads = heads
        self.headDim = headDim
        self.capacity = capacity
        self.precision = precision
        let bytes = layers * heads * capacity * headDim * precision.elementBytes
        keyStorage = .allocate(byteCount: bytes, alignment: 64)
        valueStorage = .allocate(byteCount: bytes, alignment: 64)
        keyStorage.initializeMemory(as: UInt8.self, repeating: 0, count: bytes)
        valueStorage.initializeMemory(as: UInt8.self, repeating: 0, count: bytes)
    }

    deinit {
        keyStorage.deallocate()
        valueStorage.deallocate()
    }

    /// Elements between consecutive heads of a layer.
    public var headStride: Int { capacity * headDim }
    /// Elements per layer.
    public var layerStride: Int { heads * headStride }
    /// Bytes held (keys and values).
    public var byteCount: Int { 2 * layers * layerStride * precision.elementBytes }
    /// Positions still free.
    public var remaining: Int { capacity - length }

    /// Writes the key and value of `position` for `layer`, each given as
    /// [heads·headDim] (heads concatenated, the layout a projection produces), converted to
    /// the cache's precision.
    @inline(__always)
    public func store(layer: Int, position: Int, key: UnsafePointer<Float>, value: UnsafePointer<Float>) {
        let first = layer * layerStride + position * headDim
        switch precision {
        case .f32:
            let k = keyStorage.assumingMemoryBound(to: Float.self) + first
            let v = valueStorage.assumingMemoryBound(to: Float.self) + first
            for h in 0..<heads {
                (k + h * headStride).update(from: key + h * headDim, count: headDim)
                (v + h * headStride).update(from: value + h * headDim, count: headDim)
            }
        case .f16:
            let k = keyStorage.assumingMemoryBound(to: Float16.self) + first
            let v = valueStorage.assumingMemoryBound(to: Float16.self) + first
            for h in 0..<heads {
                narrowToFloat16(out: k + h * headStride, input: key + h * headDim, count: headDim)
                narrowToFloat16(out: v + h * headStride, input: value + h * headDim, count: headDim)
            }
        }
    }

    /// Attention of one query ([heads·headDim]) over positions 0..<`length` of `layer`, for the
    /// heads in `heads`, into `out` ([heads·headDim]); see Tensor's `attention`.
    @inline(__always)
    public func attend(
        layer: Int, out: UnsafeMutablePointer<Float>, query: UnsafePointer<Float>, length: Int, heads: Range<Int>,
        scale: Float, scores: UnsafeMutablePointer<Float>
    ) {
        precondition(length <= capacity)
        let first = layer * layerStride
        switch precision {
        case .f32:
            attention(
                out: out, query: query,
                keys: keyStorage.assumingMemoryBound(to: Float.self) + first,
                values: valueStorage.assumingMemoryBound(to: Float.self) + first,
                length: length, heads: heads, headDim: headDim, headStride: headStride, scale: scale, scores: scores)
        case .f16:
            attention(
                out: out, query: query,
                keys: keyStorage.assumingMemoryBound(to: Float16.self) + first,
                values: valueStorage.assumingMemoryBound(to: Float16.self) + first,
                length: length, heads: heads, headDim: headDim, headStride: headStride, scale: scale, scores: scores)
        }
    }

    /// Marks `count` more positions as filled, after every layer has stored them.
    public func advance(by count: Int) {
        precondition(length + count <= capacity, "KV cache overflow: callers check remaining capacity first")
        length += count
    }

    /// Forgets everything (the memory is kept for reuse).
    public func reset() { length = 0 }

    /// Forgets the positions from `newLength` on.
    public func truncate(to newLength: Int) {
        precondition(newLength >= 0 && newLength <= length)
        length = newLength
    }

    /// Makes this cache hold exactly what `other` holds (beam search reorders beams
    /// this way). The capacities may differ (a cache grows by copying into a larger
    /// one) as long as `other`'s positions fit; the precisions may not.
    public func copy(from other: KVCache) {
        precondition(
            other.layers == layers && other.heads == heads && other.headDim == headDim && other.length <= capacity)
        precondition(other.precision == precision, "KV caches of one model share a precision")
        let size = precision.elementBytes
        let usedBytes = other.length * headDim * size
        for layer in 0..<layers {
            for h in 0..<heads {
                let to = (layer * layerStride + h * headStride) * size
                let from = (layer * other.layerStride + h * other.headStride) * size
                (keyStorage + to).copyMemory(from: other.keyStorage + from, byteCount: usedBytes)
                (valueStorage + to).copyMemory(from: other.valueStorage + from, byteCount: usedBytes)
            }
        }
        length = other.length
    }
}
