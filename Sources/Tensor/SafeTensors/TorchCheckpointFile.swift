import CheckpointFormats
import Foundation
import Kernels

#if canImport(Glibc)
    import Glibc
#endif

/// A PyTorch checkpoint (`pytorch_model.bin`, zip or legacy format) as a checkpoint file:
/// memory-mapped, its pickle read by `CheckpointFormats.TorchCheckpoint` (restricted, nothing
/// executed), its tensors handed out as `TensorView`s like a safetensors file's.
///
/// A contiguous tensor is borrowed from the mapping in place (tensors sharing one storage,
/// like tied embeddings, borrow the same bytes). A strided one (a transposed matrix), or one
/// stored at an offset its dtype cannot be read from (the legacy format packs storages with
/// no alignment), is copied into row-major order once, on first use; an F64 tensor is narrowed to F32 once, as
/// transformers does when it loads one into a float32 model. Other dtypes (I64, I16, U8, BOOL:
/// buffers such as `position_ids`) are listed in `unsupportedTensors`.
///
/// Sendable by hand: the copies it makes are cached under `lock`; the mapping is immutable.
public final class TorchCheckpointFile: CheckpointFile, @unchecked Sendable {
    public let path: String
    public let tensors: [String: TensorInfo]
    public let metadata: [String: String]
    public let unsupportedTensors: [String: String]
    public let storedBytes: Int
    /// Which of the two torch.save formats the file is in.
    public let format: TorchCheckpoint.Format
    let file: MappedFile
    private let records: [String: TorchTensorRecord]

    /// Copies made for strided or F64 tensors, keyed by their layout so shared ones are made once.
    private var copies: [CopyKey: CopiedBytes] = [:]
    private let lock = NSLock()

    private struct CopyKey: Hashable {
        let storage: String
        let offset: Int
        let shape: [Int]
        let strides: [Int]
    }

    public convenience init(path: String) throws {
        try self.init(file: MappedFile(path: path))
    }

    init(file: MappedFile) throws {
        self.file = file
        self.path = file.path
        // A malformed or hostile file throws CheckpointFormatError, which names the file.
        let checkpoint = try TorchCheckpoint(bytes: file.bytes, path: file.path)
        format = checkpoint.format
        var tensors: [String: TensorInfo] = [:]
        var records: [String: TorchTensorRecord] = [:]
        var unsupported: [String: String] = [:]
        for record in checkpoint.tensors {
            guard let dtype = Self.engineDType(record.dtype) else {
                unsupported[record.name] = record.dtype.rawValue
                continue
            }
            let bytes = dtype.byteCount(elements: record.elementCount) ?? 0
            let range = record.dtype == .f64 ? nil : record.contiguousRange
            tensors[record.name] = TensorInfo(
                name: record.name, dtype: dtype, shape: record.shape,
                elementCount: record.elementCount, dataOffsets: range ?? 0..<bytes)
            records[record.name] = record
        }
        self.tensors = tensors
        self.records = records
        self.unsupportedTensors = unsupported
        storedBytes = Dictionary(
            checkpoint.tensors.map { ($0.storageKey, $0.storageRange.count) }, uniquingKeysWith: max
        )
        .values.reduce(0, +)
        self.metadata = ["format": "pt", "torch_format": checkpoint.format.rawValue]
    }

    /// The engine's dtype a PyTorch dtype loads as, or nil when it cannot be loaded.
    static func engineDType(_ dtype: TorchDType) -> DType? {
        switch dtype {
        case .f32, .f64: return .f32
        case .f16: return .f16
        case .bf16: return .bf16
        case .i8: return .i8
        case .i32: return .i32
        case .i64, .i16, .u8, .bool: return nil
        }
    }

    public func view(_ name: String) -> TensorView? {
        guard let info = tensors[name], let record = records[name] else { return nil }
        if record.dtype != .f64, let range = record.contiguousRange, isAligned(range, record.dtype) {
            let slice = UnsafeRawBufferPointer(rebasing: file.bytes[range])
            return TensorView(info: info, bytes: slice, owner: file, source: path)
        }
        let copy = contiguousCopy(of: record)
        let bytes = UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(copy.bytes)[0..<info.dataOffsets.count])
        return TensorView(info: info, bytes: bytes, owner: copy, source: path)
    }

    private func contiguousCopy(of record: TorchTensorRecord) -> CopiedBytes {
        let key = CopyKey(
            storage: record.storageKey, offset: record.storageOffset, shape: record.shape,
            strides: record.strides)
        lock.lock()
        defer { lock.unlock() }
        if let copy = copies[key] { return copy }
        let copy = CopiedBytes(count: record.elementCount * record.dtype.size)
        if let range = record.contiguousRange, let base = file.bytes.baseAddress, let target = copy.bytes.baseAddress {
            target.copyMemory(from: base + range.lowerBound, byteCount: range.count)
            releasePages(range)
        } else {
            record.copyContiguous(from: file.bytes, into: copy.bytes)
        }
        if record.dtype == .f64 { copy.narrowDoublesToFloats(count: record.elementCount) }
        copies[key] = copy
        return copy
    }

    private func isAligned(_ range: Range<Int>, _ dtype: TorchDType) -> Bool {
        (Int(bitPattern: file.bytes.baseAddress) + range.lowerBound) % dtype.size == 0
    }

    /// Drops the mapping's pages wholly inside `range` once they have been copied, so a legacy
    /// checkpoint does not hold its weights twice. The mapping is private and never written, so
    /// a later read of those pages (another view of the storage) reads the file again.
    private func releasePages(_ range: Range<Int>) {
        guard let base = file.bytes.baseAddress else { return }
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let start = (Int(bitPattern: base) + range.lowerBound + page - 1) / page * page
        let end = (Int(bitPattern: base) + range.upperBound) / page * page
        guard end > start, let pointer = UnsafeMutableRawPointer(bitPattern: start) else { return }
        _ = madvise(pointer, end - start, MADV_DONTNEED)
    }
}

/// Bytes owned by a checkpoint view: a strided tensor made contiguous.
///
/// Sendable by hand: immutable once filled, before it is shared.
final class CopiedBytes: @unchecked Sendable {
    let bytes: UnsafeMutableRawBufferPointer

    init(count: Int) {
        bytes = .allocate(byteCount: max(count, 1), alignment: 64)
    }

    /// Rewrites `count` doubles as floats in place (the first half of the buffer).
    func narrowDoublesToFloats(count: Int) {
        guard let base = bytes.baseAddress else { return }
        for index in 0..<count {
            let value = base.loadUnaligned(fromByteOffset: index * 8, as: Double.self)
            base.storeBytes(of: Float(value), toByteOffset: index * 4, as: Float.self)
        }
    }

    deinit { bytes.deallocate() }
}
