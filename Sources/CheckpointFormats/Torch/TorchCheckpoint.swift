/// The tensors of a PyTorch checkpoint (`pytorch_model.bin`), read without Python and
/// without running anything from the file, in either format torch.save has written:
///
/// - zip (torch >= 1.6): `<archive>/data.pkl` describes the tensors, whose storages are
///   the stored entries `<archive>/data/<key>`;
/// - legacy (torch < 1.6): five pickles back to back (magic number, protocol version, system
///   info, the object, the storage keys), then each storage as an 8-byte little-endian element
///   count and its raw bytes, in the order of the keys.
///
/// The reader works on bytes the caller holds (a memory mapping), and gives each tensor's
/// storage as a byte range of them: nothing is copied.
public struct TorchCheckpoint: Sendable {
    public enum Format: String, Sendable { case zip, legacy }

    public let path: String
    public let format: Format
    /// The tensors in the order the state dict lists them.
    public let tensors: [TorchTensorRecord]

    public init(bytes: UnsafeRawBufferPointer, path: String, limits: PickleLimits = PickleLimits()) throws {
        self.path = path
        if ZipArchive.looksLikeZip(bytes) {
            format = .zip
            tensors = try Self.readZip(bytes, path: path, limits: limits)
        } else {
            format = .legacy
            tensors = try Self.readLegacy(bytes, path: path, limits: limits)
        }
    }

    // MARK: - Zip format

    private static func readZip(_ bytes: UnsafeRawBufferPointer, path: String,
                                limits: PickleLimits) throws -> [TorchTensorRecord] {
        let archive = try ZipArchive(bytes: bytes, path: path)
        let pickles = archive.entries.filter { entry in
            let parts = entry.name.split(separator: "/", omittingEmptySubsequences: false)
            return parts.count == 2 && parts[1] == "data.pkl"
        }
        guard let pickle = pickles.first else {
            throw CheckpointFormatError.missingEntry(path: path, entry: "<archive>/data.pkl")
        }
        guard pickles.count == 1 else {
            throw CheckpointFormatError.unsupportedLayout(
                path: path, reason: "the archive holds \(pickles.count) data.pkl files")
        }
        let prefix = String(pickle.name.dropLast("data.pkl".count))
        if let order = archive.entry(named: prefix + "byteorder") {
            let text = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[order.dataRange]), as: UTF8.self)
            guard text == "little" else {
                throw CheckpointFormatError.unsupportedLayout(
                    path: path, reason: "the storages are \(text)-endian; only little-endian is read")
            }
        }
        let pickleBytes = UnsafeRawBufferPointer(rebasing: bytes[pickle.dataRange])
        let root = try PickleMachine.load(pickleBytes, path: path, limits: limits).value
        var storages = StorageTable(path: path)
        let layouts = try TensorLayout.collect(root, storages: &storages, path: path)
        var ranges: [String: Range<Int>] = [:]
        for (key, storage) in storages.byKey {
            let name = prefix + "data/" + key
            guard let entry = archive.entry(named: name) else {
                throw CheckpointFormatError.missingEntry(path: path, entry: name)
            }
            let needed = storage.elementCount.multipliedReportingOverflow(by: storage.dtype.size)
            guard !needed.overflow, needed.partialValue <= entry.dataRange.count else {
                throw CheckpointFormatError.storageOutOfBounds(
                    path: path, storage: key,
                    reason: "holds \(entry.dataRange.count) bytes, fewer than its "
                        + "\(storage.elementCount) \(storage.dtype.rawValue) elements")
            }
            ranges[key] = entry.dataRange.lowerBound..<(entry.dataRange.lowerBound + needed.partialValue)
        }
        return try layouts.map { try $0.record(storages: storages, ranges: ranges, path: path) }
    }

    // MARK: - Legacy format

    /// `torch.serialization.MAGIC_NUMBER`, 0x1950a86a20f9469cfc6c, as pickle's little-endian bytes.
    static let magicNumber: [UInt8] = [0x6C, 0xFC, 0x9C, 0x46, 0xF9, 0x20, 0x6A, 0xA8, 0x50, 0x19]

    private static func readLegacy(_ bytes: UnsafeRawBufferPointer, path: String,
                                   limits: PickleLimits) throws -> [TorchTensorRecord] {
        guard let magic = try? PickleMachine.load(bytes, path: path, limits: limits),
              case .bigInt(let value) = magic.value, value == magicNumber
        else { throw CheckpointFormatError.wrongMagicNumber(path: path) }
        let version = try PickleMachine.load(bytes, offset: magic.end, path: path, limits: limits)
        guard version.value.int == 1001 else {
            throw CheckpointFormatError.unsupportedLayout(
                path: path, reason: "legacy protocol version \(version.value) is not 1001")
        }
        let system = try PickleMachine.load(bytes, offset: version.end, path: path, limits: limits)
        if case .dict(let info) = system.value, case .bool(false)? = info.value(forKey: "little_endian") {
            throw CheckpointFormatError.unsupportedLayout(path: path, reason: "the checkpoint was written big-endian")
        }
        let object = try PickleMachine.load(bytes, offset: system.end, path: path, limits: limits)
        let keysPickle = try PickleMachine.load(bytes, offset: object.end, path: path, limits: limits)
        guard let keyValues = keysPickle.value.tuple else {
            throw CheckpointFormatError.malformedPickle(
                path: path, reason: "the storage key list is not a list", offset: object.end)
        }
        var storages = StorageTable(path: path)
        let layouts = try TensorLayout.collect(object.value, storages: &storages, path: path)

        var ranges: [String: Range<Int>] = [:]
        var reader = ByteReader(bytes, offset: keysPickle.end)
        for keyValue in keyValues {
            guard let key = keyValue.string else {
                throw CheckpointFormatError.malformedPickle(
                    path: path, reason: "a storage key is not a string", offset: object.end)
            }
            guard let storage = storages.byKey[key] else {
                throw CheckpointFormatError.unsupportedLayout(
                    path: path, reason: "storage '\(key)' is listed but no tensor uses it")
            }
            guard let count = reader.unsigned(8) else {
                throw CheckpointFormatError.storageOutOfBounds(
                    path: path, storage: key, reason: "has no element count (the file ends)")
            }
            guard count == UInt64(storage.elementCount) else {
                throw CheckpointFormatError.storageOutOfBounds(
                    path: path, storage: key,
                    reason: "has \(count) elements where the pickle says \(storage.elementCount)")
            }
            let length = storage.elementCount * storage.dtype.size  // Checked against the storage table's bound.
            let start = reader.offset
            guard reader.take(length) != nil else {
                throw CheckpointFormatError.storageOutOfBounds(
                    path: path, storage: key,
                    reason: "needs \(length) bytes from byte \(start) but the file has \(bytes.count)")
            }
            ranges[key] = start..<(start + length)
        }
        return try layouts.map { try $0.record(storages: storages, ranges: ranges, path: path) }
    }
}
