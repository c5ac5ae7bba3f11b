/// One member of a zip archive as its central directory describes it. Where its bytes are
/// is only known once its local header is read (`ZipArchive.dataRange(of:in:)`).
public struct ZipEntry: Sendable, Equatable {
    public let name: String
    /// 0 for stored; torch.save never compresses.
    public let method: Int
    public let flags: Int
    /// Bytes of the entry's data (stored entries: equal to the compressed size).
    public let size: Int
    public let localHeaderOffset: Int
}
