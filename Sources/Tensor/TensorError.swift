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
    case misplacedSpan(path: String, tensor: String, begin: Int, end: Int, expectedBegin: Int)
    case incompleteData(path: String, coveredBytes: Int, dataBytes: Int)
    case unsupportedDType(path: String, tensor: String, dtype: String)
    case malformedIndex(path: String, reason: String)
    case missingShard(index: String, shard: String)
    case missingTensor(name: String, searched: [String])
    case unexpectedShape(tensor: String, expected: [Int], got: [Int])
    case unexpectedDType(tensor: String, expected: String, got: String)
    case shapeMismatch(op: String, expected: [Int], got: [Int])
    /// Outputs asked of a layer that it does not have, or not ascending (a restricted output layer).
    case invalidOutputs(reason: String)

    public var description: String {
        switch self {
        case .fileNotFound(let path):
            return "\(path): no such file. Check the model folder path."
        case .cannotOpen(let path, let reason):
            return "\(path): cannot open (\(reason))."
        case .fileTooSmall(let path, let size):
            return "\(path): \(size) bytes is too small for a safetensors file (at least 8 bytes of header "
                + "length). The file is truncated; download it again."
        case .headerLengthOutOfBounds(let path, let length, let size):
            return "\(path): the header claims \(length) bytes but the file has \(size). The file is truncated or "
                + "not a safetensors file."
        case .malformedHeader(let path, let reason):
            return "\(path): the safetensors header is not valid (\(reason)). The file is corrupt or not a "
                + "safetensors file."
        case .unknownDType(let path, let tensor, let dtype):
            return "\(path): tensor '\(tensor)' has dtype '\(dtype)', which the safetensors format does not "
                + "define. The file is corrupt or not a safetensors file."
        case .invalidShape(let path, let tensor, let reason):
            return "\(path): tensor '\(tensor)' has an invalid shape (\(reason))."
        case .byteSpanMismatch(let path, let tensor, let expected, let span):
            return "\(path): tensor '\(tensor)' needs \(expected) bytes for its shape and dtype but its "
                + "data_offsets span \(span). The file is corrupt."
        case .misplacedSpan(let path, let tensor, let begin, let end, let expected):
            return "\(path): tensor '\(tensor)' has data_offsets [\(begin), \(end)] but the tensors before it end "
                + "at byte \(expected); "
                + "tensors must follow each other with no hole or overlap. The file is corrupt; download it again."
        case .incompleteData(let path, let covered, let dataBytes):
            return "\(path): the tensors cover \(covered) bytes but the file has \(dataBytes) bytes after the "
                + "header "
                + "(the safetensors library calls this MetadataIncompleteBuffer). The file is truncated or "
                + "corrupt; download it again."
        case .unsupportedDType(let path, let tensor, let dtype):
            return "\(path): tensor '\(tensor)' is stored as \(dtype). Octavo Infer deliberately supports only "
                + "F32, F16 and BF16 "
                + "weights (and the I8 files its own quantize writes); convert the checkpoint to one of those."
        case .malformedIndex(let path, let reason):
            return "\(path): the shard index is not valid (\(reason))."
        case .missingShard(let index, let shard):
            return "\(index) lists shard '\(shard)', which is not in the folder. Download the missing shard."
        case .missingTensor(let name, let searched):
            return "tensor '\(name)' is not in the checkpoint (searched \(searched.joined(separator: ", "))). The "
                + "checkpoint does not match the model's config."
        case .unexpectedShape(let tensor, let expected, let got):
            return "tensor '\(tensor)' has shape \(got) but the config implies \(expected). The checkpoint does "
                + "not match config.json."
        case .unexpectedDType(let tensor, let expected, let got):
            return "tensor '\(tensor)' is \(got) where \(expected) was expected."
        case .shapeMismatch(let op, let expected, let got):
            return "\(op): expected shape \(expected), got \(got)."
        case .invalidOutputs(let reason):
            return "restricted output layer: \(reason). Give token ids of the model's vocabulary, ascending."
        }
    }
}
