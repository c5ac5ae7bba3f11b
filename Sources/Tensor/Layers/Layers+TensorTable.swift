import Kernels

// Layers loaded from a model's tensor table, so that names and shapes are written once, there.

extension Linear {
    /// Loads the layer `tensors` describes (see `init(_:_:inFeatures:outFeatures:layout:hasBias:precision:)`).
    public init(_ checkpoint: Checkpoint, _ tensors: LinearTensors, precision: WeightPrecision = .f32) throws {
        try self.init(
            checkpoint, tensors.prefix, inFeatures: tensors.inFeatures, outFeatures: tensors.outFeatures,
            layout: tensors.layout, hasBias: tensors.hasBias, precision: precision)
    }
}

extension LayerNormLayer {
    public init(_ checkpoint: Checkpoint, _ tensors: LayerNormTensors, epsilon: Float) throws {
        try self.init(checkpoint, tensors.prefix, features: tensors.features, epsilon: epsilon)
    }
}

extension Embedding {
    /// Reads the first of the table's names the checkpoint stores.
    public init(_ checkpoint: Checkpoint, _ tensors: EmbeddingTensors) throws {
        try self.init(checkpoint, names: tensors.names, count: tensors.count, dimension: tensors.dimension)
    }
}
