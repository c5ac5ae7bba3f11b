/// The storages a checkpoint's pickle refers to, from its persistent ids, registered in the
/// order the pickle names them: `("storage", <StorageClass>, key, location, elementCount)` in
/// the zip format, with a sixth field (a view, always None since torch 0.4) in the legacy one.
///
/// As in torch, the first reference to a key decides its type and size; later references to
/// the same key reuse that storage whatever they say (the zip format reloads an empty one).
struct StorageTable {
    struct Storage: Equatable {
        let dtype: TorchDType
        let elementCount: Int
        var byteCount: Int { elementCount * dtype.size }  // Checked not to overflow when registered.
    }

    let path: String
    let format: TorchCheckpoint.Format
    private(set) var byKey: [String: Storage] = [:]

    init(path: String, format: TorchCheckpoint.Format) {
        self.path = path
        self.format = format
    }

    /// Registers the storage a persistent id names; returns its key and whether this reference
    /// loads it (the first one, or one after an empty storage in the zip format).
    mutating func register(_ id: PickleValue) throws -> (key: String, loads: Bool) {
        func bad(_ reason: String) -> CheckpointFormatError {
            .malformedTensor(path: path, tensor: "storage reference", reason: reason)
        }
        let arity = format == .zip ? 5 : 6
        guard let fields = id.tuple, fields.count == arity, fields[0].string == "storage" else {
            throw bad("it is not torch's (\"storage\", class, key, location, size\(format == .zip ? "" : ", view"))")
        }
        guard case .global(let className) = fields[1], let dtype = PickleGlobals.storages[className],
            format == .zip || className != "torch.storage.UntypedStorage"  // torch's legacy reader fails on it
        else { throw bad("'\(fields[1])' is not a storage class") }
        guard let key = fields[2].string else { throw bad("its key is not a string") }
        guard let count = fields[4].int, count >= 0, !count.multipliedReportingOverflow(by: dtype.size).overflow else {
            throw bad("its storage has \(fields[4]) elements")
        }
        if format == .legacy, case .none = fields[5] {
        } else if format == .legacy {
            throw CheckpointFormatError.unsupportedLayout(
                path: path, reason: "storage views (torch < 0.4) are not supported")
        }
        if let existing = byKey[key], format == .legacy || existing.byteCount > 0 { return (key, false) }
        byKey[key] = Storage(dtype: dtype, elementCount: count)
        return (key, true)
    }

    /// Grows a legacy storage to `count` elements when it holds fewer.
    mutating func grow(_ key: String, toAtLeast count: Int) {
        guard let storage = byKey[key], storage.elementCount < count,
            !count.multipliedReportingOverflow(by: storage.dtype.size).overflow
        else { return }
        byKey[key] = Storage(dtype: storage.dtype, elementCount: count)
    }

    /// The key of a persistent id `register` accepted.
    func key(of id: PickleValue) -> String? { id.tuple?[2].string }
}
