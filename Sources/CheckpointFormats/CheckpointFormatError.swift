/// Everything that can be wrong with a PyTorch checkpoint: the zip container, the pickle
/// inside it, or the tensors it describes.
///
/// Each case names the file, so "pytorch_model.bin: the pickle calls 'os.system' ..." is
/// enough to act on. None of them is a crash: these readers face files from the internet.
public enum CheckpointFormatError: Error, Equatable, CustomStringConvertible {
    // The zip container.
    case notAZip(path: String, reason: String)
    case truncated(path: String, reason: String)
    case compressedEntry(path: String, entry: String, method: Int)
    case entryOutOfBounds(path: String, entry: String, reason: String)
    case missingEntry(path: String, entry: String)

    // The pickle.
    case unknownOpcode(path: String, opcode: UInt8, offset: Int)
    case forbiddenGlobal(path: String, global: String)
    case malformedPickle(path: String, reason: String, offset: Int)
    case limitExceeded(path: String, limit: String, value: Int)

    // The checkpoint it describes.
    case wrongMagicNumber(path: String)
    case unsupportedLayout(path: String, reason: String)
    case malformedTensor(path: String, tensor: String, reason: String)
    case storageOutOfBounds(path: String, storage: String, reason: String)

    public var path: String {
        switch self {
        case .notAZip(let path, _), .truncated(let path, _), .compressedEntry(let path, _, _),
            .entryOutOfBounds(let path, _, _), .missingEntry(let path, _), .unknownOpcode(let path, _, _),
            .forbiddenGlobal(let path, _), .malformedPickle(let path, _, _), .limitExceeded(let path, _, _),
            .wrongMagicNumber(let path), .unsupportedLayout(let path, _), .malformedTensor(let path, _, _),
            .storageOutOfBounds(let path, _, _):
            return path
        }
    }

    public var description: String {
        switch self {
        case .notAZip(let path, let reason):
            return "\(path): not a readable zip archive (\(reason)). The file is corrupt or not a PyTorch "
                + "checkpoint."
        case .truncated(let path, let reason):
            return "\(path): the file is truncated (\(reason)). Download it again."
        case .compressedEntry(let path, let entry, let method):
            return "\(path): zip entry '\(entry)' is compressed (method \(method)); torch.save stores entries "
                + "uncompressed. Re-save the checkpoint with torch.save, or convert it with transformers."
        case .entryOutOfBounds(let path, let entry, let reason):
            return "\(path): zip entry '\(entry)' \(reason). The file is corrupt or crafted."
        case .missingEntry(let path, let entry):
            return "\(path): the archive has no '\(entry)'. It is not a torch.save checkpoint."
        case .unknownOpcode(let path, let opcode, let offset):
            return "\(path): the pickle uses opcode 0x\(String(opcode, radix: 16)) at byte \(offset), which a "
                + "torch.save state dict never contains; refused, nothing was executed."
        case .forbiddenGlobal(let path, let global):
            return "\(path): the pickle refers to '\(global)', which is not part of a state dict; refused, nothing "
                + "was executed. Only load checkpoints from sources you trust, or ask for a safetensors file."
        case .malformedPickle(let path, let reason, let offset):
            return "\(path): the pickle is malformed at byte \(offset) (\(reason)). The file is corrupt."
        case .limitExceeded(let path, let limit, let value):
            return "\(path): the pickle exceeds the \(limit) limit (\(value)); refused as a possible memory bomb."
        case .wrongMagicNumber(let path):
            return "\(path): neither a zip archive nor a legacy torch.save file (wrong magic number). "
                + "Is it a PyTorch checkpoint?"
        case .unsupportedLayout(let path, let reason):
            return "\(path): \(reason)."
        case .malformedTensor(let path, let tensor, let reason):
            return "\(path): tensor '\(tensor)' is malformed (\(reason)). The file is corrupt."
        case .storageOutOfBounds(let path, let storage, let reason):
            return "\(path): storage '\(storage)' \(reason). The file is truncated or corrupt; download it again."
        }
    }
}
