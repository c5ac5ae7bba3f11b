import Kernels

/// A lookup table [count, dimension]: row i is the vector of id i.
public struct Embedding: Sendable {
    public let table: FloatBuffer
    public let count: Int
    public let dimension: Int

    public init(_ checkpoint: Checkpoint, names: [String], count: Int, dimension: Int) throws {
        var found: TensorView?
        for name in names {
            if let view = checkpoint.view(name) {
                found = view
                break
            }
        }
        guard let view = found else {
            throw TensorError.missingTensor(name: names[0], searched: checkpoint.files.map(\.path))
        }
        table = try view.floats(expectedShape: [count, dimension])
        self.count = count
        self.dimension = dimension
    }

    /// Row `index`; the caller has checked `0 <= index < count`.
    @inline(__always)
    public func row(_ index: Int) -> UnsafePointer<Float> {
        table.pointer + index * dimension
    }
}
