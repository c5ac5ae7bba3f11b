import Foundation
import Kernels

/// Writes a safetensors file: the header JSON (keys sorted, padded with spaces
/// to a multiple of 8 bytes so the data area stays aligned), then the tensors in order.
public enum SafeTensorsWriter {
    public struct Entry {
        public let name: String
        public let dtype: DType
        public let shape: [Int]
        public let data: Data

        public init(name: String, dtype: DType, shape: [Int], data: Data) {
            self.name = name
            self.dtype = dtype
            self.shape = shape
            self.data = data
        }

        /// An F32 entry from floats.
        public init(name: String, shape: [Int], floats: UnsafeBufferPointer<Float>) {
            self.init(name: name, dtype: .f32, shape: shape, data: Data(buffer: floats))
        }
    }

    /// The file's bytes.
    public static func serialize(_ entries: [Entry], metadata: [String: String] = [:]) throws -> Data {
        var header: [String: Any] = [:]
        var offset = 0
        for entry in entries {
            let expected = entry.dtype.byteCount(elements: entry.shape.reduce(1, *))
            guard expected == entry.data.count else {
                throw TensorError.byteSpanMismatch(
                    path: "(writing)", tensor: entry.name, expectedBytes: expected ?? Int.max,
                    spanBytes: entry.data.count)
            }
            header[entry.name] = [
                "dtype": entry.dtype.rawValue, "shape": entry.shape,
                "data_offsets": [offset, offset + entry.data.count],
            ]
            offset += entry.data.count
        }
        if !metadata.isEmpty { header["__metadata__"] = metadata }
        var json = try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys])
        while (8 + json.count) % 8 != 0 { json.append(0x20) }
        var out = Data(capacity: 8 + json.count + offset)
        var length = UInt64(json.count).littleEndian
        withUnsafeBytes(of: &length) { out.append(contentsOf: $0) }
        out.append(json)
        for entry in entries { out.append(entry.data) }
        return out
    }

    /// Writes the file atomically (a temporary file renamed into place).
    public static func write(_ entries: [Entry], metadata: [String: String] = [:], to url: URL) throws {
        try serialize(entries, metadata: metadata).write(to: url, options: .atomic)
    }
}
