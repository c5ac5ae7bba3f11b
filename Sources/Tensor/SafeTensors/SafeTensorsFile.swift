/// Where one tensor lives inside a safetensors file.
public struct TensorInfo: Sendable, Equatable {
    public let name: String
    public let dtype: DType
    public let shape: [Int]
    /// Byte range relative to the start of the data area (after the header).
    public let dataOffsets: Range<Int>
    /// Product of the shape.
    public let elementCount: Int
    /// The end as written in the header (before the begin in a corrupt file, refused by validation).
    let declaredEnd: Int
    /// Bytes the shape and dtype need (0 when `sizeFault` says they cannot be computed).
    let byteCount: Int
    /// Why the byte count cannot be computed; such a tensor is refused by validation.
    let sizeFault: SizeFault?

    init(
        name: String, dtype: DType, shape: [Int], dataOffsets: Range<Int>, declaredEnd: Int,
        size: (elements: Int, bytes: Int, fault: SizeFault?)
    ) {
        self.name = name
        self.dtype = dtype
        self.shape = shape
        self.dataOffsets = dataOffsets
        self.declaredEnd = declaredEnd
        self.elementCount = size.elements
        self.byteCount = size.bytes
        self.sizeFault = size.fault
    }

    /// A tensor another reader has already checked (a PyTorch checkpoint's records).
    init(name: String, dtype: DType, shape: [Int], elementCount: Int, dataOffsets: Range<Int>) {
        self.init(
            name: name, dtype: dtype, shape: shape, dataOffsets: dataOffsets, declaredEnd: dataOffsets.upperBound,
            size: (elementCount, dataOffsets.count, nil))
    }

    enum SizeFault: Sendable, Equatable {
        case overflow
        case partialByte
    }
}

/// A memory-mapped safetensors file with a validated header.
///
/// Layout (https://github.com/huggingface/safetensors): 8 bytes little-endian
/// header length N, N bytes of JSON `{name: {dtype, shape, data_offsets}, "__metadata__": {...}}`,
/// then the data area. Everything the header claims is checked before any
/// tensor is handed out, so a truncated or hostile file is a `TensorError`,
/// never a read outside the mapping.
public final class SafeTensorsFile: Sendable {
    public let path: String
    public let tensors: [String: TensorInfo]
    public let metadata: [String: String]
    let file: MappedFile
    let dataStart: Int

    /// Largest header accepted. The reference implementation caps it at 100 MB too.
    static let maxHeaderLength: UInt64 = 100_000_000

    public convenience init(path: String) throws {
        try self.init(file: MappedFile(path: path))
    }

    init(file: MappedFile) throws {
        self.file = file
        self.path = file.path
        let bytes = file.bytes
        guard bytes.count >= 8 else { throw TensorError.fileTooSmall(path: path, size: bytes.count) }

        var headerLength: UInt64 = 0
        for i in 0..<8 { headerLength |= UInt64(bytes[i]) << (8 * UInt64(i)) }
        guard headerLength <= Self.maxHeaderLength else {
            throw TensorError.malformedHeader(
                path: path,
                reason: "header of \(headerLength) bytes exceeds the 100 "
                    + "MB limit")
        }
        guard headerLength <= UInt64(bytes.count - 8) else {
            throw TensorError.headerLengthOutOfBounds(path: path, headerLength: headerLength, fileSize: bytes.count)
        }
        let headerEnd = 8 + Int(headerLength)
        let header = UnsafeRawBufferPointer(rebasing: bytes[8..<headerEnd])
        guard String(validating: header, as: UTF8.self) != nil else {
            throw TensorError.malformedHeader(path: path, reason: "the header is not valid UTF-8")
        }
        let json: HeaderJSON
        do {
            json = try HeaderJSONParser.parse(header)
        } catch let error as HeaderJSONParser.Failure {
            throw TensorError.malformedHeader(path: path, reason: "invalid JSON: \(error.reason)")
        }
        let decoded = try SafeTensorsHeader.decode(json, path: path)
        try SafeTensorsHeader.validateLayout(decoded.tensors, dataSize: bytes.count - headerEnd, path: path)

        var tensors: [String: TensorInfo] = [:]
        for info in decoded.tensors {
            guard tensors.updateValue(info, forKey: info.name) == nil else {
                throw TensorError.malformedHeader(
                    path: path,
                    reason: "two tensor names differ only in Unicode "
                        + "normalization ('\(info.name)'), which Octavo Infer deliberately does not support")
            }
        }
        dataStart = headerEnd
        self.tensors = tensors
        self.metadata = decoded.metadata
    }

    /// The tensor's bytes, a view into the mapping (kept alive by the returned view).
    public func view(_ name: String) -> TensorView? {
        guard let info = tensors[name] else { return nil }
        let start = dataStart + info.dataOffsets.lowerBound
        let slice = UnsafeRawBufferPointer(rebasing: file.bytes[start..<(start + info.dataOffsets.count)])
        return TensorView(info: info, bytes: slice, owner: file, source: path)
    }
}
