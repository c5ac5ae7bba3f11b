/// The storages a checkpoint's pickle refers to, from their persistent ids:
/// `("storage", <StorageClass>, key, location, elementCount[, viewMetadata])`.
struct StorageTable {
    struct Storage: Equatable {
        let dtype: TorchDType
        let elementCount: Int
    }

    let path: String
    private(set) var byKey: [String: Storage] = [:]

    init(path: String) { self.path = path }

    /// Registers the storage a persistent id names, checking that every reference to one
    /// key agrees on its type and size; returns its key.
    mutating func register(_ id: PickleValue, tensor: String) throws -> String {
        guard let fields = id.tuple, fields.count == 5 || fields.count == 6, fields[0].string == "storage",
              case .global(let className) = fields[1], let key = fields[2].string, let count = fields[4].int
        else {
            throw CheckpointFormatError.malformedTensor(
                path: path, tensor: tensor, reason: "its storage reference is not torch's")
        }
        guard let dtype = PickleGlobals.storages[className] else {
            throw CheckpointFormatError.malformedTensor(
                path: path, tensor: tensor, reason: "'\(className)' is not a storage class")
        }
        if fields.count == 6, case .none = fields[5] {} else if fields.count == 6 {
            throw CheckpointFormatError.unsupportedLayout(
                path: path, reason: "storage views (torch < 0.4) are not supported")
        }
        let bytes = count.multipliedReportingOverflow(by: dtype.size)
        guard count >= 0, !bytes.overflow else {
            throw CheckpointFormatError.malformedTensor(
                path: path, tensor: tensor, reason: "its storage has \(count) elements")
        }
        let storage = Storage(dtype: dtype, elementCount: count)
        if let existing = byKey[key], existing != storage {
            throw CheckpointFormatError.malformedTensor(
                path: path, tensor: tensor, reason: "storage '\(key)' is described twice differently")
        }
        byKey[key] = storage
        return key
    }
}
