/// One stored member of a zip archive: its name and where its bytes are in the file.
public struct ZipEntry: Sendable, Equatable {
    public let name: String
    /// The entry's data, as a byte range of the whole file.
    public let dataRange: Range<Int>
}
