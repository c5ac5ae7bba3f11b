/// A minimal protobuf wire-format reader, enough for `sentencepiece_model.proto`.
///
/// Every read is bounds-checked: truncated or garbage input raises
/// `SentencePieceError.malformedProtobuf`, never traps.
struct SentencePieceProtobufReader {
    enum WireType: Int {
        case varint = 0
        case fixed64 = 1
        case lengthDelimited = 2
        case startGroup = 3
        case endGroup = 4
        case fixed32 = 5
    }

    let bytes: [UInt8]
    private(set) var position: Int
    let end: Int

    init(bytes: [UInt8]) {
        self.bytes = bytes
        self.position = 0
        self.end = bytes.count
    }

    init(bytes: [UInt8], range: Range<Int>) {
        self.bytes = bytes
        self.position = range.lowerBound
        self.end = range.upperBound
    }

    var isAtEnd: Bool { position >= end }

    func error(_ reason: String, at offset: Int? = nil) -> SentencePieceError {
        .malformedProtobuf(offset: offset ?? position, reason: reason)
    }

    mutating func readVarint() throws -> UInt64 {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        let start = position
        while true {
            guard position < end else { throw error("truncated varint", at: start) }
            let byte = bytes[position]
            position += 1
            if shift == 63 && byte > 1 { throw error("varint overflows 64 bits", at: start) }
            result |= UInt64(byte & 0x7F) << shift
            if byte & 0x80 == 0 { return result }
            shift += 7
            if shift > 63 { throw error("varint longer than 10 bytes", at: start) }
        }
    }

    /// Reads a tag; returns nil at the end of the message.
    mutating func readTag() throws -> (field: Int, wireType: WireType)? {
        if isAtEnd { return nil }
        let start = position
        let key = try readVarint()
        let field = key >> 3
        guard field > 0, field <= 536_870_911 else { throw error("invalid field number \(field)", at: start) }
        guard let wire = WireType(rawValue: Int(key & 7)) else {
            throw error("invalid wire type \(key & 7) for field \(field)", at: start)
        }
        return (Int(field), wire)
    }

    mutating func readFixed32() throws -> UInt32 {
        guard end - position >= 4 else { throw error("truncated fixed32") }
        var value: UInt32 = 0
        for i in 0..<4 { value |= UInt32(bytes[position + i]) << (8 * UInt32(i)) }
        position += 4
        return value
    }

    mutating func readFixed64() throws -> UInt64 {
        guard end - position >= 8 else { throw error("truncated fixed64") }
        var value: UInt64 = 0
        for i in 0..<8 { value |= UInt64(bytes[position + i]) << (8 * UInt64(i)) }
        position += 8
        return value
    }

    /// The byte range of a length-delimited field's payload.
    mutating func readLengthDelimited() throws -> Range<Int> {
        let start = position
        let length = try readVarint()
        guard length <= UInt64(end - position) else {
            throw error("length-delimited field of \(length) bytes runs past the end of the data", at: start)
        }
        let range = position..<(position + Int(length))
        position += Int(length)
        return range
    }

    mutating func readBytes() throws -> [UInt8] {
        Array(bytes[try readLengthDelimited()])
    }

    mutating func readString() throws -> String {
        let range = try readLengthDelimited()
        // Protobuf strings are UTF-8; decode leniently (invalid bytes become U+FFFD)
        // rather than failing on a model with an odd piece.
        return String(decoding: bytes[range], as: UTF8.self)
    }

    mutating func readFloat() throws -> Float { Float(bitPattern: try readFixed32()) }

    mutating func readBool() throws -> Bool { try readVarint() != 0 }

    /// proto2 int32: negative values are sign-extended to 64 bits on the wire.
    mutating func readInt32() throws -> Int32 { Int32(truncatingIfNeeded: try readVarint()) }

    /// Skips a field of the given wire type (the tag is already read).
    mutating func skipField(_ wireType: WireType, field: Int, depth: Int = 0) throws {
        switch wireType {
        case .varint: _ = try readVarint()
        case .fixed64: _ = try readFixed64()
        case .fixed32: _ = try readFixed32()
        case .lengthDelimited: _ = try readLengthDelimited()
        case .startGroup:
            guard depth < 64 else { throw error("groups nested too deeply") }
            while true {
                guard let (innerField, innerWire) = try readTag() else { throw error("unterminated group \(field)") }
                if innerWire == .endGroup {
                    guard innerField == field else {
                        throw error("mismatched end of group \(innerField), expected \(field)")
                    }
                    return
                }
                try skipField(innerWire, field: innerField, depth: depth + 1)
            }
        case .endGroup:
            throw error("unexpected end of group \(field)")
        }
    }

    /// Whether a known field arrived with its declared encoding. If not, it is skipped and
    /// false returned: protobuf parsers keep such a field as an unknown one, so must we.
    mutating func accept(_ actual: WireType, _ expected: WireType, field: Int) throws -> Bool {
        guard actual == expected else {
            try skipField(actual, field: field)
            return false
        }
        return true
    }
}
