/// The decoded header of a safetensors file, checked with the safetensors library's rules
/// (0.8.0: `SafeTensors::read_metadata` and `Metadata::validate`), so a file opens here exactly
/// when it opens there:
///
/// - the header is UTF-8 JSON: an object of tensor entries plus an optional `__metadata__`
///   (null or an object of strings), given at most once;
/// - a tensor entry is `{"dtype", "shape", "data_offsets"}` (each once, other members ignored)
///   or the array `[dtype, shape, data_offsets]`; a later entry with the same name replaces an
///   earlier one; shapes and offsets are unsigned 64-bit integers;
/// - sorted by offsets, the tensors tile the data area from 0 with no hole or overlap, each span
///   is exactly its elements times the dtype's bits over 8 (overflow checked, whole bytes), and
///   the last one ends where the file ends.
struct SafeTensorsHeader {
    var tensors: [TensorInfo]
    var metadata: [String: String]

    /// Dtype names as the library spells them, and the path for error messages.
    static func decode(_ json: HeaderJSON, path: String) throws -> SafeTensorsHeader {
        func malformed(_ reason: String) -> TensorError { .malformedHeader(path: path, reason: reason) }
        guard case .object(let members) = json else {
            throw malformed("the header is \(json.kindName), not a JSON object")
        }

        var metadata: [String: String] = [:]
        var sawMetadata = false
        // Keyed by the name's bytes: two names differing only in Unicode normalization are two tensors.
        var slot: [[UInt8]: Int] = [:]
        var entries: [TensorInfo] = []
        for (name, value) in members {
            if name == "__metadata__" {
                guard !sawMetadata else { throw malformed("__metadata__ is given twice") }
                sawMetadata = true
                switch value {
                case .null: break
                case .object(let pairs):
                    for (key, entry) in pairs {
                        guard case .string(let text) = entry else {
                            throw malformed("__metadata__['\(key)'] is \(entry.kindName), not a string")
                        }
                        metadata[key] = text
                    }
                default: throw malformed("__metadata__ is \(value.kindName), not an object")
                }
                continue
            }
            let info = try decodeEntry(name: name, value: value, path: path)
            if let index = slot[Array(name.utf8)] {
                entries[index] = info
            } else {
                slot[Array(name.utf8)] = entries.count
                entries.append(info)
            }
        }
        return SafeTensorsHeader(tensors: entries, metadata: metadata)
    }

    private static func decodeEntry(name: String, value: HeaderJSON, path: String) throws -> TensorInfo {
        func malformed(_ reason: String) -> TensorError {
            .malformedHeader(path: path, reason: "entry '\(name)' \(reason)")
        }
        var dtypeValue: HeaderJSON?
        var shapeValue: HeaderJSON?
        var offsetsValue: HeaderJSON?
        switch value {
        case .object(let members):
            for (key, member) in members {
                switch key {
                case "dtype":
                    guard dtypeValue == nil else { throw malformed("has two dtype members") }
                    dtypeValue = member
                case "shape":
                    guard shapeValue == nil else { throw malformed("has two shape members") }
                    shapeValue = member
                case "data_offsets":
                    guard offsetsValue == nil else { throw malformed("has two data_offsets members") }
                    offsetsValue = member
                default: continue
                }
            }
        case .array(let elements):
            guard elements.count == 3 else {
                throw malformed("is an array of \(elements.count) values, not [dtype, shape, data_offsets]")
            }
            (dtypeValue, shapeValue, offsetsValue) = (elements[0], elements[1], elements[2])
        default:
            throw malformed("is \(value.kindName), not an object")
        }
        guard let dtypeValue else { throw malformed("has no dtype") }
        guard let shapeValue else { throw malformed("has no shape") }
        guard let offsetsValue else { throw malformed("has no data_offsets") }

        let dtypeName: String
        switch dtypeValue {
        case .string(let text): dtypeName = text
        // serde also reads a unit enum variant written as a one-member map {"F32": null}.
        case .object(let pairs) where pairs.count == 1:
            guard case .null = pairs[0].value else { throw malformed("has a dtype map whose value is not null") }
            dtypeName = pairs[0].key
        default: throw malformed("has a dtype that is \(dtypeValue.kindName), not a string")
        }
        guard let dtype = DType(rawValue: dtypeName) else {
            throw TensorError.unknownDType(path: path, tensor: name, dtype: dtypeName)
        }

        guard case .array(let dimensions) = shapeValue else {
            throw malformed("has a shape that is \(shapeValue.kindName), not an array")
        }
        var shape: [UInt64] = []
        for dimension in dimensions {
            guard case .unsigned(let size) = dimension else {
                throw TensorError.invalidShape(
                    path: path, tensor: name,
                    reason: "a dimension is "
                        + "\(describe(dimension)), not an unsigned integer")
            }
            shape.append(size)
        }
        guard case .array(let offsets) = offsetsValue, offsets.count == 2,
            case .unsigned(let begin) = offsets[0], case .unsigned(let end) = offsets[1]
        else { throw malformed("needs data_offsets [begin, end] of two unsigned integers") }

        // Dimensions past Int.max fit the format (a tensor with a zero dimension) but not our
        // [Int] shapes; such a file is refused on purpose rather than silently clamped.
        guard shape.allSatisfy({ $0 <= UInt64(Int.max) }), begin <= UInt64(Int.max), end <= UInt64(Int.max) else {
            throw TensorError.invalidShape(
                path: path, tensor: name,
                reason: "a dimension or offset is 2^63 or "
                    + "more, which Octavo Infer deliberately does not support")
        }
        return TensorInfo(
            name: name, dtype: dtype, shape: shape.map { Int($0) }, dataOffsets: Int(begin)..<Int(max(begin, end)),
            declaredEnd: Int(end), size: size(of: shape, dtype: dtype))
    }

    /// Elements and bytes as the library folds them (checked 64-bit products, left to right),
    /// so `[2^62, 3, 0]` is an empty tensor and `[2^32, 2^32, 0]` an overflow.
    private static func size(of shape: [UInt64], dtype: DType) -> (
        elements: Int, bytes: Int, fault: TensorInfo.SizeFault?
    ) {
        var elements: UInt64 = 1
        for size in shape {
            let (product, overflow) = elements.multipliedReportingOverflow(by: size)
            guard !overflow else { return (0, 0, .overflow) }
            elements = product
        }
        let (bits, overflow) = elements.multipliedReportingOverflow(by: UInt64(dtype.bitSize))
        guard !overflow else { return (0, 0, .overflow) }
        guard bits % 8 == 0 else { return (0, 0, .partialByte) }
        // bits fits 64 bits, so elements and bytes are below 2^61 and fit Int.
        return (Int(elements), Int(bits / 8), nil)
    }

    private static func describe(_ value: HeaderJSON) -> String {
        switch value {
        case .otherNumber(let literal): return literal
        default: return value.kindName
        }
    }

    /// The library's `Metadata::validate` plus its file-size check: tensors sorted by
    /// `(begin, end)` must tile `0..<dataSize` exactly.
    static func validateLayout(_ tensors: [TensorInfo], dataSize: Int, path: String) throws {
        let ordered = tensors.sorted {
            ($0.dataOffsets.lowerBound, $0.declaredEnd) < ($1.dataOffsets.lowerBound, $1.declaredEnd)
        }
        var start = 0
        for info in ordered {
            guard info.dataOffsets.lowerBound == start, info.declaredEnd >= info.dataOffsets.lowerBound else {
                throw TensorError.misplacedSpan(
                    path: path, tensor: info.name, begin: info.dataOffsets.lowerBound,
                    end: info.declaredEnd, expectedBegin: start)
            }
            start = info.declaredEnd
            switch info.sizeFault {
            case .overflow:
                throw TensorError.invalidShape(
                    path: path, tensor: info.name,
                    reason: "the byte count overflows 64 "
                        + "bits")
            case .partialByte:
                throw TensorError.invalidShape(
                    path: path, tensor: info.name,
                    reason: "\(info.shape) \(info.dtype.rawValue) values do not end on "
                        + "a byte boundary")
            case nil:
                guard info.byteCount == info.dataOffsets.count else {
                    throw TensorError.byteSpanMismatch(
                        path: path, tensor: info.name, expectedBytes: info.byteCount,
                        spanBytes: info.dataOffsets.count)
                }
            }
        }
        guard start == dataSize else {
            throw TensorError.incompleteData(path: path, coveredBytes: start, dataBytes: dataSize)
        }
    }
}
