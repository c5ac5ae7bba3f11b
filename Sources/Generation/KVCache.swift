/// The keys and values one sequence has produced, for every layer of a model.
///
/// Layout per layer: [heads, capacity, headDim], the layout `attention(...)` reads,
/// so a decode step streams each head's keys once. Allocated once at its full
/// capacity: appending never allocates.
public final class KVCache: @unchecked Sendable {
    public let layers: Int
    public let heads: Int
    public let headDim: Int
    public let capacity: Int
    /// Positions filled so far (the next token goes to position `length`).
    public private(set) var length: Int = 0

    private let keyStorage: UnsafeMutablePointer<Float>
    private let valueStorage: UnsafeMutablePointer<Float>

    public init(layers: Int, heads: Int, headDim: Int, capacity: Int) {
        precondition(layers > 0 && heads > 0 && headDim > 0 && capacity > 0)
        self.layers = layers
        self.heads = heads
        self.headDim = headDim
        self.capacity = capacity
        let count = layers * heads * capacity * headDim
        keyStorage = .allocate(capacity: count)
        valueStorage = .allocate(capacity: count)
        keyStorage.initialize(repeating: 0, count: count)
        valueStorage.initialize(repeating: 0, count: count)
    }

    deinit {
        keyStorage.deallocate()
        valueStorage.deallocate()
    }

    /// Floats between consecutive heads of a layer.
    public var headStride: Int { capacity * headDim }
    /// Floats per layer.
    public var layerStride: Int { heads * headStride }
    /// Bytes held (keys and values).
    public var byteCount: Int { 2 * layers * layerStride * MemoryLayout<Float>.stride }
    /// Positions still free.
    public var remaining: Int { capacity - length }

    public func keys(layer: Int) -> UnsafeMutablePointer<Float> { keyStorage + layer * layerStride }
    public func values(layer: Int) -> UnsafeMutablePointer<Float> { valueStorage + layer * layerStride }

    /// Writes the key and value of `position` for `layer`, each given as
    /// [heads·headDim] (heads concatenated, the layout a projection produces).
    @inline(__always)
    public func store(layer: Int, position: Int, key: UnsafePointer<Float>, value: UnsafePointer<Float>) {
        let k = keys(layer: layer) + position * headDim
        let v = values(layer: layer) + position * headDim
        for h in 0..<heads {
            (k + h * headStride).update(from: key + h * headDim, count: headDim)
            (v + h * headStride).update(from: value + h * headDim, count: headDim)
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
    /// one) as long as `other`'s positions fit.
    public func copy(from other: KVCache) {
        precondition(other.layers == layers && other.heads == heads && other.headDim == headDim && other.length <= capacity)
        let used = other.length * headDim
        for layer in 0..<layers {
            for h in 0..<heads {
                let to = layer * layerStride + h * headStride
                let from = layer * other.layerStride + h * other.headStride
                (keyStorage + to).update(from: other.keyStorage + from, count: used)
                (valueStorage + to).update(from: other.valueStorage + from, count: used)
            }
        }
        length = other.length
    }
}
