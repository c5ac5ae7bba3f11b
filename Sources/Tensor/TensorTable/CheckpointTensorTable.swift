import Kernels

/// Every tensor an architecture reads from a checkpoint, with the names that checkpoint uses
/// (key prefix resolved), shapes and layouts: the one list that loading, `quantize`, `convert`
/// and `inspect` read. Each model builds its table from its config and checkpoint
/// (`GPT2Tensors`, `M2M100Tensors`) and loads its layers from the table's fields.
public protocol CheckpointTensorTable: Sendable {
    /// Every entry, in load order.
    var entries: [TensorTableEntry] { get }
}

extension CheckpointTensorTable {
    /// The name `entry` is read from in `checkpoint`: the first of its names present, else its first.
    public func resolvedName(of entry: TensorTableEntry, in checkpoint: Checkpoint) -> String {
        entry.names.first { checkpoint.info($0) != nil } ?? entry.names[0]
    }

    /// The matrices `octavo-infer quantize` converts, each written under its own name; a tied or
    /// absent output layer is read from the tensor it falls back to.
    public func quantizableMatrices(in checkpoint: Checkpoint) -> [CheckpointQuantizer.Matrix] {
        entries.compactMap { entry in
            guard case .matrix(let layout) = entry.kind, let (inFeatures, outFeatures) = entry.features else {
                return nil
            }
            let name = resolvedName(of: entry, in: checkpoint)
            let readsFallback = !entry.fallback.isEmpty && (!entry.isRequired || checkpoint.info(name) == nil)
            let source =
                readsFallback
                ? entry.fallback.first { checkpoint.info($0) != nil } ?? entry.fallback[0]
                : nil
            return .init(name: name, layout: layout, inFeatures: inFeatures, outFeatures: outFeatures, source: source)
        }
    }

    /// Names in `checkpoint` that hold weights already counted under another name: the tied
    /// copies of an embedding, and a tied output layer a quantized file stores explicitly.
    public func tiedCopies(in checkpoint: Checkpoint) -> Set<String> {
        var copies = Set<String>()
        for entry in entries {
            let present = entry.names.filter { checkpoint.info($0) != nil }
            copies.formUnion(present.dropFirst())
            let fallbackPresent = entry.fallback.contains { checkpoint.info($0) != nil }
            if !entry.isRequired, entry.kind != .buffer, fallbackPresent, let first = present.first {
                copies.insert(first)
            }
        }
        return copies
    }

    /// Names of buffers the model never reads (not weights).
    public var bufferNames: Set<String> {
        Set(entries.filter { $0.kind == .buffer }.flatMap(\.names))
    }

    /// Every name the table knows.
    public var knownNames: Set<String> { Set(entries.flatMap { $0.names + $0.fallback }) }

    /// What does not match between the table and `checkpoint`: required entries stored under
    /// none of their names, stored names the table does not list, and stored float shapes that
    /// differ from the table's (a file written by `quantize` stores its matrices [out, in]).
    public func mismatches(with checkpoint: Checkpoint) -> [String] {
        var problems: [String] = []
        let known = knownNames
        for entry in entries {
            let present = entry.names.filter { checkpoint.info($0) != nil }
            if present.isEmpty && entry.isRequired {
                problems.append("missing '\(entry.names.joined(separator: "' or '"))'")
            }
            for name in present {
                guard let shape = entry.shape, let info = checkpoint.info(name), info.shape != shape else { continue }
                problems.append("'\(name)' is \(info.shape), the table says \(shape)")
            }
        }
        for name in checkpoint.tensorNames where !known.contains(name) {
            problems.append("'\(name)' is not in the table")
        }
        return problems
    }
}
