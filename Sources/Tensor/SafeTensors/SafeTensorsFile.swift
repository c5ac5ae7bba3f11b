import Kernels
import Foundation

/// Where one tensor lives inside a safetensors file.
public struct TensorInfo: Sendable, Equatable {
    public let name: String
    public let dtype: DType
    public let shape: [Int]
    /// Byte range relative to the start of the data area (after the header).
    public let dataOffsets: Range<Int>

    public var elementCount: Int { shape.reduce(1, *) }
}

/// A memory-mapped safetensors file with a validated header.
///
/// Layout (https://github.com/huggingface/safetensors): 8 bytes little-endian
/// header length N, N bytes of JSON `{name: {dtype, shape, data_offsets}, "__metadata__": {...}}`,
/// then the data area. Everything the header claims is checked before any
/// tensor is handed out, so a truncated or hostile file is a `TensorError`,
/// never a read outside the mapping.
public final class SafeTensorsFile: @unchecked Sendable {
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
        guard headerLength <= UInt64(bytes.count - 8) else {
            throw TensorError.headerLengthOutOfBounds(path: path, headerLength: headerLength, fileSize: bytes.count)
        }
        guard headerLength <= Self.maxHeaderLength else {
            throw TensorError.malformedHeader(path: path, reason: "header of \(headerLength) bytes exceeds the 100 MB limit")
        }
        let headerEnd = 8 + Int(headerLength)
        dataStart = headerEnd
        let dataSize = bytes.count - headerEnd

        let header = Data(bytes[8..<headerEnd])
        let json: Any
        do {
            json = try JSONSerialization.jsonObject(with: header, options: [])
        } catch {
            throw TensorError.malformedHeader(path: path, reason: "header is not valid JSON")
        }
        guard let object = json as? [String: Any] else {
            throw TensorError.malformedHeader(path: path, reason: "header is not a JSON object")
        }

        var tensors: [String: TensorInfo] = [:]
        var metadata: [String: String] = [:]
        for (name, value) in object {
            if name == "__metadata__" {
                guard let entries = value as? [String: Any] else {
                    throw TensorError.malformedHeader(path: path, reason: "__metadata__ is not an object")
                }
                for (key, entry) in entries {
                    guard let text = entry as? String else {
                        throw TensorError.malformedHeader(path: path, reason: "__metadata__['\(key)'] is not a string")
                    }
                    metadata[key] = text
                }
                continue
            }
            tensors[name] = try Self.parseEntry(name: name, value: value, path: path, dataSize: dataSize)
        }

        // Spans must not overlap: two tensors sharing bytes means a corrupt or crafted file.
        let ordered = tensors.values.filter { !$0.dataOffsets.isEmpty }.sorted { $0.dataOffsets.lowerBound < $1.dataOffsets.lowerBound }
        for (previous, next) in zip(ordered, ordered.dropFirst()) where next.dataOffsets.lowerBound < previous.dataOffsets.upperBound {
            throw TensorError.overlappingSpans(path: path, first: previous.name, second: next.name)
        }
        self.tensors = tensors
        self.metadata = metadata
    }

    private static func parseEntry(name: String, value: Any, path: String, dataSize: Int) throws -> TensorInfo {
        guard let entry = value as? [String: Any] else {
            throw TensorError.malformedHeader(path: path, reason: "entry '\(name)' is not an object")
        }
        guard let dtypeName = entry["dtype"] as? String else {
            throw TensorError.malformedHeader(path: path, reason: "entry '\(name)' has no dtype string")
        }
        guard let dtype = DType(rawValue: dtypeName) else {
            throw TensorError.unknownDType(path: path, tensor: name, dtype: dtypeName)
        }
        guard let rawShape = entry["shape"] as? [Any] else {
            throw TensorError.malformedHeader(path: path, reason: "entry '\(name)' has no shape array")
        }
        var shape: [Int] = []
        var elements = 1
        for dimension in rawShape {
            guard let size = exactNonNegativeInt(dimension) else {
                throw TensorError.invalidShape(path: path, tensor: name, reason: "dimension \(dimension) is not a non-negative integer")
            }
            let (product, overflow) = elements.multipliedReportingOverflow(by: size)
            guard !overflow else {
                throw TensorError.invalidShape(path: path, tensor: name, reason: "element count overflows")
            }
            elements = product
            shape.append(size)
        }
        guard let offsets = entry["data_offsets"] as? [Any], offsets.count == 2,
              let begin = exactNonNegativeInt(offsets[0]), let end = exactNonNegativeInt(offsets[1]), begin <= end
        else {
            throw TensorError.malformedHeader(path: path, reason: "entry '\(name)' needs data_offsets [begin, end] with begin <= end")
        }
        let (expectedBytes, overflow) = elements.multipliedReportingOverflow(by: dtype.size)
        guard !overflow, expectedBytes == end - begin else {
            throw TensorError.byteSpanMismatch(path: path, tensor: name, expectedBytes: overflow ? Int.max : expectedBytes, spanBytes: end - begin)
        }
        guard end <= dataSize else {
            throw TensorError.spanOutOfBounds(path: path, tensor: name, end: end, dataSize: dataSize)
        }
        return TensorInfo(name: name, dtype: dtype, shape: shape, dataOffsets: begin..<end)
    }

    /// The tensor's bytes, a view into the mapping (kept alive by the returned view).
    public func view(_ name: String) -> TensorView? {
        guard let info = tensors[name] else { return nil }
        let start = dataStart + info.dataOffsets.lowerBound
        let slice = UnsafeRawBufferPointer(rebasing: file.bytes[start..<(start + info.dataOffsets.count)])
        return TensorView(info: info, bytes: slice, owner: file, source: path)
    }
}

/// JSON numbers arrive as NSNumber/Double/Int depending on the platform; accept
/// only values that are exactly a non-negative integer.
func exactNonNegativeInt(_ value: Any) -> Int? {
    if let number = value as? NSNumber {
        // Booleans are NSNumbers too; a shape of [true] is not a shape.
        if isJSONBoolean(number) { return nil }
        let double = number.doubleValue
        guard double >= 0, double < 9.0e15, double == double.rounded() else { return nil }
        return Int(double)
    }
    return nil
}

/// `true`/`false` decoded by JSONSerialization are NSNumbers whose objCType is 'c'
/// (`is Bool` is no test: the integer 1 bridges to Bool too).
func isJSONBoolean(_ number: NSNumber) -> Bool {
    String(cString: number.objCType) == "c"
}
