#if canImport(Glibc)
    import Kernels
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A whole file mapped read-only into memory.
///
/// Weights are read straight from the page cache: loading costs no copy, and
/// pages the model never touches are never read. The mapping lives as long as
/// this object; every tensor view keeps a reference to it.
///
/// Sendable by hand: a read-only mapping, immutable after open.
public final class MappedFile: @unchecked Sendable {
    public let path: String
    public let bytes: UnsafeRawBufferPointer

    public init(path: String) throws {
        self.path = path
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            let code = errno
            if code == ENOENT { throw TensorError.fileNotFound(path: path) }
            throw TensorError.cannotOpen(path: path, reason: String(cString: strerror(code)))
        }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else {
            throw TensorError.cannotOpen(path: path, reason: String(cString: strerror(errno)))
        }
        guard (info.st_mode & S_IFMT) == S_IFREG else {
            throw TensorError.cannotOpen(path: path, reason: "not a regular file")
        }
        let size = Int(info.st_size)
        if size == 0 {
            // mmap rejects empty files; an empty view is what the parser should see.
            bytes = UnsafeRawBufferPointer(start: nil, count: 0)
            return
        }
        guard let base = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0), base != MAP_FAILED else {
            throw TensorError.cannotOpen(path: path, reason: "mmap failed: " + String(cString: strerror(errno)))
        }
        // Where the kernel reads files into huge folios (ext4, xfs), this lets it map them with
        // 2 MiB pages: the decode loop streams every weight once a token, a TLB miss per page.
        _ = madvise(base, size, MADV_HUGEPAGE)
        bytes = UnsafeRawBufferPointer(start: base, count: size)
    }

    /// Asks the kernel to read the whole file ahead (used when the weights are
    /// about to be read sequentially anyway, e.g. converted at load).
    public func adviseWillNeed() {
        guard let base = bytes.baseAddress else { return }
        _ = madvise(UnsafeMutableRawPointer(mutating: base), bytes.count, MADV_WILLNEED)
    }

    deinit {
        if let base = bytes.baseAddress {
            munmap(UnsafeMutableRawPointer(mutating: base), bytes.count)
        }
    }
}
