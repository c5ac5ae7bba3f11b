/// The central directory of a zip archive of stored (uncompressed) entries, as torch.save
/// writes them (https://pkware.cachefly.net/webdocs/casestudies/APPNOTE.TXT), zip64 included.
///
/// Only the directory and the local headers are read; entry data stays in the caller's
/// buffer (a memory mapping), so an entry is a byte range, not a copy. Every offset and size
/// the file claims is checked against the file and against the other entries first.
public struct ZipArchive: Sendable {
    public let path: String
    public let entries: [ZipEntry]
    private let byName: [String: Int]

    /// Most entries accepted: a state dict of the largest models has a few thousand storages.
    public static let maxEntries = 1_000_000

    static let endOfDirectorySignature: UInt32 = 0x0605_4b50
    static let zip64EndOfDirectorySignature: UInt32 = 0x0606_4b50
    static let zip64LocatorSignature: UInt32 = 0x0706_4b50
    static let directoryEntrySignature: UInt32 = 0x0201_4b50
    static let localHeaderSignature: UInt32 = 0x0403_4b50

    /// True when the buffer starts like a zip archive (a local header or an empty archive).
    public static func looksLikeZip(_ bytes: UnsafeRawBufferPointer) -> Bool {
        var reader = ByteReader(bytes)
        guard let signature = reader.unsigned(4) else { return false }
        return signature == UInt64(localHeaderSignature) || signature == UInt64(endOfDirectorySignature)
    }

    public init(bytes: UnsafeRawBufferPointer, path: String) throws {
        self.path = path
        let directory = try Self.locateDirectory(bytes, path: path)
        var reader = ByteReader(bytes, offset: directory.offset)
        var entries: [ZipEntry] = []
        var byName: [String: Int] = [:]
        for _ in 0..<directory.count {
            let entry = try Self.readDirectoryEntry(&reader, bytes: bytes, path: path, directoryStart: directory.offset)
            guard byName[entry.name] == nil else {
                throw CheckpointFormatError.entryOutOfBounds(path: path, entry: entry.name, reason: "appears twice")
            }
            byName[entry.name] = entries.count
            entries.append(entry)
        }
        // Two entries sharing bytes means a size or offset lies.
        let ordered = entries.sorted { $0.dataRange.lowerBound < $1.dataRange.lowerBound }
        for (previous, next) in zip(ordered, ordered.dropFirst())
        where next.dataRange.lowerBound < previous.dataRange.upperBound {
            throw CheckpointFormatError.entryOutOfBounds(
                path: path, entry: previous.name, reason: "overlaps entry '\(next.name)' (its size or offset is wrong)")
        }
        self.entries = entries
        self.byName = byName
    }

    public func entry(named name: String) -> ZipEntry? { byName[name].map { entries[$0] } }

    // MARK: - End of central directory

    private struct Directory { let offset: Int; let count: Int }

    private static func locateDirectory(_ bytes: UnsafeRawBufferPointer, path: String) throws -> Directory {
        // The end record is 22 bytes plus a comment of at most 65535 bytes, at the very end.
        guard bytes.count >= 22 else {
            throw CheckpointFormatError.truncated(path: path, reason: "\(bytes.count) bytes cannot hold a zip directory")
        }
        var position = bytes.count - 22
        let lowest = max(0, bytes.count - 22 - 65535)
        var found: Int?
        while position >= lowest {
            var reader = ByteReader(bytes, offset: position)
            if reader.unsigned(4) == UInt64(endOfDirectorySignature) { found = position; break }
            position -= 1
        }
        guard let end = found else {
            throw CheckpointFormatError.truncated(path: path, reason: "no end of central directory record")
        }
        var reader = ByteReader(bytes, offset: end + 10)
        guard let count16 = reader.unsigned(2), let size32 = reader.unsigned(4), let offset32 = reader.unsigned(4) else {
            throw CheckpointFormatError.truncated(path: path, reason: "end of central directory record cut short")
        }
        var count = count16, offset = offset32, size = size32
        if count16 == 0xFFFF || offset32 == 0xFFFF_FFFF || size32 == 0xFFFF_FFFF {
            (count, size, offset) = try readZip64End(bytes, endRecord: end, path: path)
        }
        guard count <= UInt64(maxEntries) else {
            throw CheckpointFormatError.notAZip(
                path: path, reason: "\(count) entries is more than the \(maxEntries) accepted")
        }
        guard offset <= UInt64(bytes.count), size <= UInt64(bytes.count) - offset else {
            throw CheckpointFormatError.truncated(
                path: path, reason: "the central directory claims bytes \(offset)+\(size) of a \(bytes.count)-byte file")
        }
        return Directory(offset: Int(offset), count: Int(count))
    }

    private static func readZip64End(_ bytes: UnsafeRawBufferPointer, endRecord: Int, path: String) throws
        -> (count: UInt64, size: UInt64, offset: UInt64)
    {
        var locator = ByteReader(bytes, offset: endRecord - 20)
        guard endRecord >= 20, locator.unsigned(4) == UInt64(zip64LocatorSignature),
              locator.unsigned(4) != nil, let recordOffset = locator.unsigned(8)
        else {
            throw CheckpointFormatError.notAZip(path: path, reason: "zip64 fields without a zip64 locator")
        }
        guard recordOffset < UInt64(bytes.count) else {
            throw CheckpointFormatError.truncated(path: path, reason: "the zip64 directory record is past the end")
        }
        var record = ByteReader(bytes, offset: Int(recordOffset))
        guard record.unsigned(4) == UInt64(zip64EndOfDirectorySignature) else {
            throw CheckpointFormatError.notAZip(path: path, reason: "no zip64 end of central directory record")
        }
        record.offset += 8 + 2 + 2 + 4 + 4 + 8
        guard let count = record.unsigned(8), let size = record.unsigned(8), let offset = record.unsigned(8) else {
            throw CheckpointFormatError.truncated(path: path, reason: "zip64 end of central directory record cut short")
        }
        return (count, size, offset)
    }

    // MARK: - Entries

    private static func readDirectoryEntry(_ reader: inout ByteReader, bytes: UnsafeRawBufferPointer, path: String,
                                           directoryStart: Int) throws -> ZipEntry {
        let start = reader.offset
        guard reader.unsigned(4) == UInt64(directoryEntrySignature) else {
            throw CheckpointFormatError.notAZip(path: path, reason: "no central directory entry at byte \(start)")
        }
        reader.offset += 6
        guard let method = reader.unsigned(2) else { throw cut(path) }
        reader.offset += 8
        guard let compressed32 = reader.unsigned(4), let size32 = reader.unsigned(4),
              let nameLength = reader.unsigned(2), let extraLength = reader.unsigned(2),
              let commentLength = reader.unsigned(2)
        else { throw cut(path) }
        reader.offset += 8
        guard let local32 = reader.unsigned(4), let nameBytes = reader.take(Int(nameLength)),
              let extra = reader.take(Int(extraLength)), reader.take(Int(commentLength)) != nil
        else { throw cut(path) }
        let name = String(decoding: nameBytes, as: UTF8.self)

        // A zip64 extra field holds, in order, each value whose 32-bit field is 0xFFFFFFFF.
        var size = size32, compressed = compressed32, local = local32
        if size32 == 0xFFFF_FFFF || compressed32 == 0xFFFF_FFFF || local32 == 0xFFFF_FFFF {
            var fields = ByteReader(extra)
            var zip64: ByteReader?
            while let id = fields.unsigned(2), let length = fields.unsigned(2) {
                guard let body = fields.take(Int(length)) else { break }
                if id == 0x0001 { zip64 = ByteReader(body); break }
            }
            guard var values = zip64 else {
                throw CheckpointFormatError.entryOutOfBounds(
                    path: path, entry: name, reason: "has zip64 sizes but no zip64 field")
            }
            func next() throws -> UInt64 {
                guard let value = values.unsigned(8) else {
                    throw CheckpointFormatError.entryOutOfBounds(
                        path: path, entry: name, reason: "has a short zip64 field")
                }
                return value
            }
            if size32 == 0xFFFF_FFFF { size = try next() }
            if compressed32 == 0xFFFF_FFFF { compressed = try next() }
            if local32 == 0xFFFF_FFFF { local = try next() }
        }
        guard method == 0 else {
            throw CheckpointFormatError.compressedEntry(path: path, entry: name, method: Int(method))
        }
        guard compressed == size else {
            throw CheckpointFormatError.entryOutOfBounds(
                path: path, entry: name,
                reason: "is stored but its compressed size \(compressed) differs from its size \(size)")
        }
        guard local < UInt64(directoryStart) else {
            throw CheckpointFormatError.entryOutOfBounds(
                path: path, entry: name, reason: "has its header at \(local), past the directory")
        }
        var header = ByteReader(bytes, offset: Int(local))
        guard header.unsigned(4) == UInt64(localHeaderSignature) else {
            throw CheckpointFormatError.entryOutOfBounds(
                path: path, entry: name, reason: "has no local header at byte \(local)")
        }
        header.offset += 22
        guard let localName = header.unsigned(2), let localExtra = header.unsigned(2) else { throw cut(path) }
        guard localName == nameLength, let localNameBytes = header.take(Int(localName)),
              localNameBytes.elementsEqual(nameBytes)
        else {
            throw CheckpointFormatError.entryOutOfBounds(
                path: path, entry: name, reason: "has a local header naming another file")
        }
        let dataStart = header.offset + Int(localExtra)
        guard dataStart <= directoryStart, size <= UInt64(directoryStart - dataStart) else {
            throw CheckpointFormatError.entryOutOfBounds(
                path: path, entry: name,
                reason: "claims \(size) bytes from byte \(dataStart), past the end of the data (byte \(directoryStart))")
        }
        return ZipEntry(name: name, dataRange: dataStart..<(dataStart + Int(size)))
    }

    private static func cut(_ path: String) -> CheckpointFormatError {
        .truncated(path: path, reason: "a central directory entry is cut short")
    }
}
