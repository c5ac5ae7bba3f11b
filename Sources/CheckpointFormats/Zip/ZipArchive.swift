/// The central directory of a zip archive, zip64 included
/// (https://pkware.cachefly.net/webdocs/casestudies/APPNOTE.TXT), checked as torch's reader
/// (miniz, via PyTorchStreamReader) checks it, so a file torch refuses is refused here too.
///
/// Only the directory is read when the archive is opened; an entry's local header is read,
/// and checked, when its data is asked for (`dataRange(of:in:)`), as torch reads only the
/// records it needs. Entry data stays in the caller's buffer (a memory mapping).
public struct ZipArchive: Sendable {
    public let path: String
    public let entries: [ZipEntry]
    private let byName: [String: Int]
    private let byLowercasedName: [String: Int]

    /// Most entries accepted: a state dict of the largest models has a few thousand storages.
    public static let maxEntries = 1_000_000

    static let endOfDirectorySignature: UInt32 = 0x0605_4b50
    static let zip64EndOfDirectorySignature: UInt32 = 0x0606_4b50
    static let zip64LocatorSignature: UInt32 = 0x0706_4b50
    static let directoryEntrySignature: UInt32 = 0x0201_4b50
    static let localHeaderSignature: UInt32 = 0x0403_4b50

    /// True when the buffer starts with a local header, torch's own test for a zip checkpoint.
    public static func looksLikeZip(_ bytes: UnsafeRawBufferPointer) -> Bool {
        var reader = ByteReader(bytes)
        return reader.unsigned(4) == UInt64(localHeaderSignature)
    }

    public init(bytes: UnsafeRawBufferPointer, path: String) throws {
        self.path = path
        let directory = try Self.locateDirectory(bytes, path: path)
        var reader = ByteReader(bytes, offset: directory.offset)
        let end = directory.offset + directory.size
        var entries: [ZipEntry] = []
        var byName: [String: Int] = [:]
        var byLowercasedName: [String: Int] = [:]
        for _ in 0..<directory.count {
            let entry = try Self.readDirectoryEntry(
                &reader, fileSize: bytes.count, directoryEnd: end,
                onDisk: directory.disk, path: path)
            // torch's reader would find one of the two at random; a writer never makes both.
            guard byName[entry.name] == nil else {
                throw CheckpointFormatError.entryOutOfBounds(
                    path: path, entry: entry.name, reason: "appears twice (refused here; torch would pick one)")
            }
            byName[entry.name] = entries.count
            let lowercased = entry.name.lowercased()
            if byLowercasedName[lowercased] == nil { byLowercasedName[lowercased] = entries.count }
            entries.append(entry)
        }
        self.entries = entries
        self.byName = byName
        self.byLowercasedName = byLowercasedName
    }

    /// The entry of that name; like torch's reader, an exact match first, else one that
    /// differs only in ASCII case.
    public func entry(named name: String) -> ZipEntry? {
        (byName[name] ?? byLowercasedName[name.lowercased()]).map { entries[$0] }
    }

    /// Where the entry's data is in the file, after checking its local header; the check
    /// torch makes when it reads a record.
    public func dataRange(of entry: ZipEntry, in bytes: UnsafeRawBufferPointer) throws -> Range<Int> {
        func bad(_ reason: String) -> CheckpointFormatError {
            .entryOutOfBounds(path: path, entry: entry.name, reason: reason)
        }
        guard entry.flags & 0x41 == 0 else { throw bad("is encrypted") }
        guard entry.method == 0 else {
            throw CheckpointFormatError.compressedEntry(path: path, entry: entry.name, method: entry.method)
        }
        var header = ByteReader(bytes, offset: entry.localHeaderOffset)
        guard header.unsigned(4) == UInt64(Self.localHeaderSignature) else {
            throw bad("has no local header at byte \(entry.localHeaderOffset)")
        }
        header.offset += 22
        guard let nameLength = header.unsigned(2), let extraLength = header.unsigned(2) else {
            throw bad("has a local header cut short")
        }
        // The local name is not compared with the directory's, as torch does not.
        let start = header.offset + Int(nameLength) + Int(extraLength)
        guard start <= bytes.count, entry.size <= bytes.count - start else {
            throw bad("claims \(entry.size) bytes from byte \(start), past the end of the \(bytes.count)-byte file")
        }
        return start..<(start + entry.size)
    }

    // MARK: - End of central directory

    private struct Directory {
        let offset: Int
        let size: Int
        let count: Int
        let disk: UInt64
    }

    private static func locateDirectory(_ bytes: UnsafeRawBufferPointer, path: String) throws -> Directory {
        // The end record is 22 bytes plus a comment of at most 65535 bytes, at the very end.
        guard bytes.count >= 22 else {
            throw CheckpointFormatError.truncated(
                path: path,
                reason: "\(bytes.count) bytes cannot hold a zip "
                    + "directory")
        }
        var position = bytes.count - 22
        let lowest = max(0, bytes.count - 22 - 65535)
        var found: Int?
        while position >= lowest {
            var reader = ByteReader(bytes, offset: position)
            if reader.unsigned(4) == UInt64(endOfDirectorySignature) {
                found = position
                break
            }
            position -= 1
        }
        guard let end = found else {
            throw CheckpointFormatError.truncated(path: path, reason: "no end of central directory record")
        }
        var reader = ByteReader(bytes, offset: end + 4)
        guard var disk = reader.unsigned(2), var directoryDisk = reader.unsigned(2),
            var onDisk = reader.unsigned(2), var count = reader.unsigned(2),
            var size = reader.unsigned(4), var offset = reader.unsigned(4)
        else {
            throw CheckpointFormatError.truncated(path: path, reason: "end of central directory record cut short")
        }
        // With a zip64 locator before the end record, the zip64 record's values are the ones that count.
        if let zip64 = try readZip64End(bytes, endRecord: end, path: path) {
            (disk, directoryDisk, onDisk, count, size, offset) = zip64
        }
        guard onDisk == count, disk | directoryDisk == 0 || (disk == 1 && directoryDisk == 1) else {
            throw CheckpointFormatError.notAZip(path: path, reason: "a multi-disk archive")
        }
        guard count <= UInt64(maxEntries) else {
            throw CheckpointFormatError.notAZip(
                path: path, reason: "\(count) entries is more than the \(maxEntries) accepted")
        }
        guard size >= count * 46 else {
            throw CheckpointFormatError.notAZip(
                path: path, reason: "a \(size)-byte central directory cannot hold \(count) entries")
        }
        guard offset <= UInt64(bytes.count), size <= UInt64(bytes.count) - offset else {
            throw CheckpointFormatError.truncated(
                path: path,
                reason: "the central directory claims bytes \(offset)+\(size) of a \(bytes.count)-byte "
                    + "file")
        }
        return Directory(offset: Int(offset), size: Int(size), count: Int(count), disk: disk)
    }

    /// (disk, directory disk, entries on disk, entries, directory size, directory offset) from
    /// the zip64 record, when a locator points at one.
    private static func readZip64End(_ bytes: UnsafeRawBufferPointer, endRecord: Int, path: String) throws
        -> (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64)?
    {
        guard endRecord >= 20 + 56 else { return nil }
        var locator = ByteReader(bytes, offset: endRecord - 20)
        guard locator.unsigned(4) == UInt64(zip64LocatorSignature),
            locator.unsigned(4) != nil, let recordOffset = locator.unsigned(8), let disks = locator.unsigned(4)
        else { return nil }
        guard recordOffset <= UInt64(bytes.count - 56) else {
            throw CheckpointFormatError.notAZip(path: path, reason: "the zip64 locator points past the end")
        }
        var record = ByteReader(bytes, offset: Int(recordOffset))
        guard record.unsigned(4) == UInt64(zip64EndOfDirectorySignature) else { return nil }
        guard let recordSize = record.unsigned(8) else { return nil }
        record.offset += 4
        guard let disk = record.unsigned(4), let directoryDisk = record.unsigned(4), let onDisk = record.unsigned(8),
            let count = record.unsigned(8), let size = record.unsigned(8), let offset = record.unsigned(8)
        else { return nil }
        guard recordSize >= 44 else {
            throw CheckpointFormatError.notAZip(path: path, reason: "the zip64 end record is too short")
        }
        guard disks == 1 else { throw CheckpointFormatError.notAZip(path: path, reason: "a multi-disk archive") }
        guard count <= 0xFFFF_FFFF, onDisk <= 0xFFFF_FFFF, size <= 0xFFFF_FFFF else {
            throw CheckpointFormatError.notAZip(path: path, reason: "the zip64 end record claims too much")
        }
        return (disk, directoryDisk, onDisk, count, size, offset)
    }

    // MARK: - Entries

    private static func readDirectoryEntry(
        _ reader: inout ByteReader, fileSize: Int, directoryEnd: Int,
        onDisk: UInt64, path: String
    ) throws -> ZipEntry {
        let start = reader.offset
        guard directoryEnd - start >= 46, reader.unsigned(4) == UInt64(directoryEntrySignature) else {
            throw CheckpointFormatError.notAZip(path: path, reason: "no central directory entry at byte \(start)")
        }
        reader.offset += 4
        guard let flags = reader.unsigned(2), let method = reader.unsigned(2) else { throw cut(path) }
        reader.offset += 8
        guard let compressed32 = reader.unsigned(4), let size32 = reader.unsigned(4),
            let nameLength = reader.unsigned(2), let extraLength = reader.unsigned(2),
            let commentLength = reader.unsigned(2), let disk = reader.unsigned(2)
        else { throw cut(path) }
        reader.offset += 6
        guard let local32 = reader.unsigned(4) else { throw cut(path) }
        guard Int(nameLength + extraLength + commentLength) <= directoryEnd - reader.offset,
            let nameBytes = reader.take(Int(nameLength)), let extra = reader.take(Int(extraLength)),
            reader.take(Int(commentLength)) != nil
        else { throw cut(path) }
        let name = String(decoding: nameBytes, as: UTF8.self)
        func bad(_ reason: String) -> CheckpointFormatError {
            .entryOutOfBounds(path: path, entry: name, reason: reason)
        }

        // A zip64 extra field holds, in order, each value whose 32-bit field is 0xFFFFFFFF.
        var size = size32
        var compressed = compressed32
        var local = local32
        if size32 == 0xFFFF_FFFF || compressed32 == 0xFFFF_FFFF || local32 == 0xFFFF_FFFF {
            var fields = ByteReader(extra)
            var zip64: ByteReader?
            while let id = fields.unsigned(2), let length = fields.unsigned(2) {
                guard let body = fields.take(Int(length)) else { break }
                if id == 0x0001 {
                    zip64 = ByteReader(body)
                    break
                }
            }
            guard var values = zip64 else { throw bad("has zip64 sizes but no zip64 field") }
            func next() throws -> UInt64 {
                guard let value = values.unsigned(8) else { throw bad("has a short zip64 field") }
                return value
            }
            if size32 == 0xFFFF_FFFF { size = try next() }
            if compressed32 == 0xFFFF_FFFF { compressed = try next() }
            if local32 == 0xFFFF_FFFF { local = try next() }
        }
        guard (method != 0 || compressed == size) && (size == 0 || compressed != 0) else {
            throw bad("has a compressed size \(compressed) that cannot hold its size \(size)")
        }
        guard disk != 0xFFFF, disk == onDisk || disk == 1 else {
            throw CheckpointFormatError.notAZip(path: path, reason: "a multi-disk archive")
        }
        guard flags & 0x2000 == 0 else { throw bad("has a masked local header") }
        guard local <= UInt64(fileSize), compressed <= UInt64(fileSize), local + 30 + compressed <= UInt64(fileSize)
        else { throw bad("claims \(compressed) bytes from byte \(local), past the end of the file") }
        return ZipEntry(
            name: name, method: Int(method), flags: Int(flags), size: Int(size),
            localHeaderOffset: Int(local))
    }

    private static func cut(_ path: String) -> CheckpointFormatError {
        .truncated(path: path, reason: "a central directory entry is cut short")
    }
}
