import Kernels
/// Everything that can go wrong reading weights or running a kernel.
///
/// Every case names the file (and tensor) involved, so a message like
/// "model.safetensors: tensor 'h.0.attn.c_attn.weight' ..." is enough to act on.
public enum TensorError: Error, CustomStringConvertible, Equatable {
    case fileNotFound(path: String)
    case cannotOpen(path: String, reason: String)
    case fileTooSmall(path: String, size: Int)
    case headerLengthOutOfBounds(path: String, headerLength: UInt64, fileSize: Int)
    case malformedHeader(path: String, reason: String)
    case unknownDType(path: String, tensor: String, dtype: String)
    case invalidShape(path: String, tensor: String, reason: String)
    case byteSpanMismatch(path: String, tensor: String, expectedBytes: Int, spanBytes: Int)
    case spanOutOfBounds(path: String, tensor: String, end: Int, dataSize: Int)
    case overlappingSpans(path: String, first: String, second: String)
    case malformedIndex(path: String, reason: String)
    case missingShard(index: String, shard: String)
    case missingTensor(name: String, searched: [String])
    case unexpectedShape(tensor: String, expected: [Int], got: [Int])
    case unexpectedDType(tensor: String, expected: String, got: String)
    case shapeMismatch(op: String, expected: [Int], got: [Int])

    public var description: String {
        switch self {
        case .fileNotFound(let path):
            return "\(path): no such file. Check the model folder path."
        case .cannotOpen(let path, let reason):
            return "\(path): cannot open (\(reason))."
        case .fileTooSmall(let path, let size):
            return "\(path): \(size) bytes is too small for a safetensors file (at least 8 bytes of header length). The file is truncated; download it again."
        case .headerLengthOutOfBounds(let path, let length, let size):
            return "\(path): the header claims \(length) bytes but the file has \(size). The file is truncated or not a safetensors file."
        case .malformedHeader(let path, let reason):
            return "\(path): the safetensors header is not valid (\(reason)). The file is corrupt or not a safetensors file."
        case .unknownDType(let path, let tensor, let dtype):
            return "\(path): tensor '\(tensor)' has dtype '\(dtype)', which is not supported (F32, F16, BF16, I8 are). Convert the checkpoint to one of those."
        case .invalidShape(let path, let tensor, let reason):
            return "\(path): tensor '\(tensor)' has an invalid shape (\(reason))."
        case .byteSpanMismatch(let path, let tensor, let expected, let span):
            return "\(path): tensor '\(tensor)' needs \(expected) bytes for its shape and dtype but its data_offsets span \(span). The file is corrupt."
        case .spanOutOfBounds(let path, let tensor, let end, let dataSize):
            return "\(path): tensor '\(tensor)' ends at byte \(end) of a \(dataSize)-byte data area. The file is truncated; download it again."
        case .overlappingSpans(let path, let first, let second):
            return "\(path): tensors '\(first)' and '\(second)' overlap in the data area. The file is corrupt."
        case .malformedIndex(let path, let reason):
            return "\(path): the shard index is not valid (\(reason))."
        case .missingShard(let index, let shard):
            return "\(index) lists shard '\(shard)', which is not in the folder. Download the missing shard."
        case .missingTensor(let name, let searched):
            return "tensor '\(name)' is not in the checkpoint (searched \(searched.joined(separator: ", "))). The checkpoint does not match the model's config."
        case .unexpectedShape(let tensor, let expected, let got):
            return "tensor '\(tensor)' has shape \(got) but the config implies \(expected). The checkpoint does not match config.json."
        case .unexpectedDType(let tensor, let expected, let got):
            return "tensor '\(tensor)' is \(got) where \(expected) was expected."
        case .shapeMismatch(let op, let expected, let got):
            return "\(op): expected shape \(expected), got \(got)."
        }
    }
}
