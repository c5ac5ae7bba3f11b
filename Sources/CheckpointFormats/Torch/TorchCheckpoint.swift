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

    /// Versions of the zip format torch 2.x reads (caffe2/serialize/versions.h).
    static let zipVersions: ClosedRange<Int64> = 1...10

    private static func readZip(
        _ bytes: UnsafeRawBufferPointer, path: String,
        limits: PickleLimits
    ) throws -> [TorchTensorRecord] {
        let archive = try ZipArchive(bytes: bytes, path: path)
        // Records are named under the first entry's folder, and every entry must share it.
        guard let first = archive.entries.first, let slash = first.name.firstIndex(of: "/") else {
            throw CheckpointFormatError.notAZip(path: path, reason: "its first entry is not in a folder")
        }
        let prefix = String(first.name[...slash])
        if let stray = archive.entries.first(where: { !$0.name.hasPrefix(prefix) }) {
            throw CheckpointFormatError.unsupportedLayout(
                path: path, reason: "entry '\(stray.name)' is outside the archive folder '\(prefix)'")
        }
        func record(_ name: String) throws -> UnsafeRawBufferPointer? {
            guard let entry = archive.entry(named: prefix + name) else { return nil }
            return UnsafeRawBufferPointer(rebasing: bytes[try archive.dataRange(of: entry, in: bytes)])
        }
        func text(_ record: UnsafeRawBufferPointer) -> String { String(decoding: record, as: UTF8.self) }

        // The pickle first, so a hostile one is named as such; it runs nothing whatever it holds.
        guard let pickle = try record("data.pkl") else {
            throw CheckpointFormatError.missingEntry(path: path, entry: prefix + "data.pkl")
        }
        let loaded = try PickleMachine.load(pickle, path: path, limits: limits)

        // The records torch's reader reads besides, checked as it checks them.
        guard let versionRecord = try record(".data/version") ?? record("version") else {
            throw CheckpointFormatError.missingEntry(path: path, entry: prefix + "version")
        }
        guard let version = leadingInteger(versionRecord), zipVersions.contains(version) else {
            throw CheckpointFormatError.unsupportedLayout(
                path: path, reason: "its format version '\(text(versionRecord))' is not one torch reads (1 to 10)")
        }
        _ = try record(".data/serialization_id")
        if archive.entry(named: prefix + "constants.pkl") != nil {
            throw CheckpointFormatError.unsupportedLayout(
                path: path, reason: "it is a TorchScript archive, not a state dict saved with torch.save")
        }
        _ = try record(".format_version")
        if let order = try record("byteorder") {
            guard text(order) == "little" else {
                throw CheckpointFormatError.unsupportedLayout(
                    path: path,
                    reason: text(order) == "big"
                        ? "the storages are big-endian; only little-endian is read"
                        : "its byteorder record says '\(text(order))', neither little nor big")
            }
        }
        if let alignment = try record(".storage_alignment"), pythonInteger(alignment) == nil {
            throw CheckpointFormatError.unsupportedLayout(
                path: path, reason: "its .storage_alignment record '\(text(alignment))' is not an integer")
        }
        // torch loads each storage as the pickle names it: its record must hold exactly its bytes.
        var storages = StorageTable(path: path, format: .zip)
        var ranges: [String: Range<Int>] = [:]
        for id in loaded.persistentIDs {
            let (key, loads) = try storages.register(id)
            guard loads, let storage = storages.byKey[key] else { continue }
            let name = prefix + "data/" + key
            guard let entry = archive.entry(named: name) else {
                throw CheckpointFormatError.missingEntry(path: path, entry: name)
            }
            let range = try archive.dataRange(of: entry, in: bytes)
            guard range.count == storage.byteCount else {
                throw CheckpointFormatError.storageOutOfBounds(
                    path: path, storage: key,
                    reason: "holds \(range.count) bytes where its \(storage.elementCount) "
                        + "\(storage.dtype.rawValue) "
                        + "elements take \(storage.byteCount)")
            }
            ranges[key] = range
        }
        let layouts = try TensorLayout.collect(loaded.value, storages: storages, path: path)
        return try layouts.map { try $0.record(storages: storages, ranges: ranges, path: path) }
    }

    /// The integer a version record starts with, as C's strtoll reads it (spaces, a sign, digits).
    static func leadingInteger(_ bytes: UnsafeRawBufferPointer) -> Int64? {
        var index = 0
        while index < bytes.count, [0x20, 0x09, 0x0A, 0x0B, 0x0C, 0x0D].contains(bytes[index]) { index += 1 }
        var negative = false
        if index < bytes.count, bytes[index] == 0x2B || bytes[index] == 0x2D {
            negative = bytes[index] == 0x2D
            index += 1
        }
        var value: Int64 = 0
        var digits = 0
        while index < bytes.count, (0x30...0x39).contains(bytes[index]), digits < 18 {
            value = value * 10 + Int64(bytes[index] - 0x30)
            index += 1
            digits += 1
        }
        return digits == 0 ? nil : (negative ? -value : value)
    }

    /// Whether Python's `int()` reads these bytes: spaces around, a sign, digits with single underscores between.
    static func pythonInteger(_ bytes: UnsafeRawBufferPointer) -> Int? {
        let spaces: Set<UInt8> = [0x20, 0x09, 0x0A, 0x0B, 0x0C, 0x0D]
        var text = Array(bytes)
        while let last = text.last, spaces.contains(last) { text.removeLast() }
        while let head = text.first, spaces.contains(head) { text.removeFirst() }
        var negative = false
        if let sign = text.first, sign == 0x2B || sign == 0x2D {
            negative = sign == 0x2D
            text.removeFirst()
        }
        guard let head = text.first, let tail = text.last, (0x30...0x39).contains(head), (0x30...0x39).contains(tail)
        else { return nil }
        var value = 0
        var previousUnderscore = false
        for byte in text {
            if byte == 0x5F {
                guard !previousUnderscore else { return nil }
                previousUnderscore = true
                continue
            }
            guard (0x30...0x39).contains(byte) else { return nil }
            previousUnderscore = false
            value = value &* 10 &+ Int(byte - 0x30)
        }
        return negative ? -value : value
    }

    // MARK: - Legacy format

    /// `torch.serialization.MAGIC_NUMBER`, 0x1950a86a20f9469cfc6c, as pickle's little-endian bytes.
    static let magicNumber: [UInt8] = [0x6C, 0xFC, 0x9C, 0x46, 0xF9, 0x20, 0x6A, 0xA8, 0x50, 0x19]

    private static func readLegacy(
        _ bytes: UnsafeRawBufferPointer, path: String,
        limits: PickleLimits
    ) throws -> [TorchTensorRecord] {
        guard let magic = try? PickleMachine.load(bytes, path: path, limits: limits),
            case .bigInt(let value) = magic.value, trimmed(value) == magicNumber
        else { throw CheckpointFormatError.wrongMagicNumber(path: path) }
        let version = try PickleMachine.load(bytes, offset: magic.end, path: path, limits: limits)
        guard version.value.int == 1001 else {
            throw CheckpointFormatError.unsupportedLayout(
                path: path, reason: "legacy protocol version \(version.value) is not 1001")
        }
        let system = try PickleMachine.load(bytes, offset: version.end, path: path, limits: limits)
        if case .dict(let info) = system.value, case .bool(false)? = info.value(forKey: "little_endian") {
            throw CheckpointFormatError.unsupportedLayout(
                path: path,
                reason: "the checkpoint was written "
                    + "big-endian")
        }
        let object = try PickleMachine.load(bytes, offset: system.end, path: path, limits: limits)
        var storages = StorageTable(path: path, format: .legacy)
        for id in object.persistentIDs { _ = try storages.register(id) }
        let keysPickle = try PickleMachine.load(bytes, offset: object.end, path: path, limits: limits)
        guard let keyValues = keysPickle.value.tuple else {
            throw CheckpointFormatError.malformedPickle(
                path: path, reason: "the storage key list is not a list", offset: object.end)
        }
        let layouts = try TensorLayout.collect(object.value, storages: storages, path: path)
        // Legacy storages are resizable: rebuilding a tensor grows its storage to what the tensor
        // reaches, and the file's element count must then match the grown size.
        for layout in layouts {
            if let reached = layout.elementsReached { storages.grow(layout.storageKey, toAtLeast: reached) }
        }

        // Each listed storage follows as its element count and bytes; a key listed twice is read twice.
        var ranges: [String: Range<Int>] = [:]
        var reader = ByteReader(bytes, offset: keysPickle.end)
        for keyValue in keyValues {
            guard let key = keyValue.string, let storage = storages.byKey[key] else {
                throw CheckpointFormatError.malformedPickle(
                    path: path, reason: "the storage key list names \(keyValue), which the pickle does not",
                    offset: object.end)
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
            let start = reader.offset
            guard reader.take(storage.byteCount) != nil else {
                throw CheckpointFormatError.storageOutOfBounds(
                    path: path, storage: key,
                    reason: "needs \(storage.byteCount) bytes from byte \(start) but the file has \(bytes.count)")
            }
            ranges[key] = start..<(start + storage.byteCount)
        }
        // torch would hand out such a tensor with whatever bytes its fresh storage held.
        if let unlisted = layouts.first(where: { ranges[$0.storageKey] == nil }) {
            throw CheckpointFormatError.unsupportedLayout(
                path: path,
                reason: "tensor '\(unlisted.name)' uses storage '\(unlisted.storageKey)', which the "
                    + "storage "
                    + "key list leaves out, so its bytes are not in the file (torch would give uninitialised "
                    + "memory)")
        }
        return try layouts.map { try $0.record(storages: storages, ranges: ranges, path: path) }
    }

    /// A little-endian two's complement integer without the redundant high bytes pickle may add.
    private static func trimmed(_ bytes: [UInt8]) -> [UInt8] {
        var bytes = bytes
        while bytes.count > 1, bytes[bytes.count - 1] == 0, bytes[bytes.count - 2] & 0x80 == 0 { bytes.removeLast() }
        return bytes
    }
}
