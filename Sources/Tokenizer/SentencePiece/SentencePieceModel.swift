import Foundation

/// A SentencePiece model (`.model` file): the `ModelProto` of sentencepiece_model.proto,
/// parsed by a small protobuf reader of our own.
///
/// Only the fields the encoder and decoder need are kept; unknown fields are skipped.
/// Loading validates the model the way the sentencepiece library does
/// (non-empty, unique pieces, exactly one `<unk>`, 256 byte pieces when byte fallback is on).
public struct SentencePieceModel: Sendable, Equatable {
    /// The kind of a piece (`ModelProto.SentencePiece.Type`).
    public enum PieceType: Int, Sendable, Equatable {
        /// A normal subword piece.
        case normal = 1
        /// The unknown piece (`<unk>`), exactly one per model.
        case unknown = 2
        /// Control symbols (`<s>`, `</s>`, `<pad>`, ...): never produced by encoding, invisible when decoding.
        case control = 3
        /// User-defined symbols: always matched as a whole, before normalization.
        case userDefined = 4
        /// Pieces kept in the vocabulary but never produced by encoding.
        case unused = 5
        /// Byte pieces `<0x00>`...`<0xFF>` used by byte fallback.
        case byte = 6
    }

    /// One vocabulary entry.
    public struct Piece: Sendable, Equatable {
        /// The piece text (spaces appear as U+2581).
        public var piece: String
        /// Unigram log probability, or BPE merge priority (higher merges first).
        public var score: Float
        public var type: PieceType
        public init(piece: String, score: Float, type: PieceType = .normal) {
            self.piece = piece
            self.score = score
            self.type = type
        }
    }

    /// The segmentation algorithm (`TrainerSpec.ModelType`).
    public enum ModelType: Int, Sendable, Equatable {
        case unigram = 1
        case bpe = 2
        case word = 3
        case char = 4
    }

    /// The fields of `TrainerSpec` that matter after training (names as in
    /// sentencepiece_model.proto; the encoder uses `modelType`, `byteFallback`,
    /// `treatWhitespaceAsSuffix` and `unkSurface`, the rest is informative).
    public struct TrainerSpec: Sendable, Equatable {
        public var modelType: ModelType = .unigram
        public var vocabSize: Int = 8000
        public var byteFallback = false
        public var treatWhitespaceAsSuffix = false
        public var allowWhitespaceOnlyPieces = false
        public var splitByWhitespace = true
        public var splitByUnicodeScript = true
        public var splitByNumber = true
        public var splitDigits = false
        public var maxSentencePieceLength = 16
        public var characterCoverage: Float = 0.9995
        public var unkID = 0
        public var bosID = 1
        public var eosID = 2
        public var padID = -1
        public var unkPiece = "<unk>"
        public var bosPiece = "<s>"
        public var eosPiece = "</s>"
        public var padPiece = "<pad>"
        /// What `decode` writes for `<unk>`; nil means the library default " \u{2047} ".
        public var unkSurface: String?
        public var controlSymbols: [String] = []
        public var userDefinedSymbols: [String] = []
        public init() {}
    }

    /// `NormalizerSpec`: how text is normalized before segmentation.
    public struct NormalizerSpec: Sendable, Equatable {
        /// Name of the rule set the map was compiled from (`nmt_nfkc`, `nfkc`, `identity`...); informative only.
        public var name = ""
        /// The compiled normalization map (double-array trie + replacement strings); empty means no mapping.
        public var precompiledCharsmap: [UInt8] = []
        public var addDummyPrefix = true
        public var removeExtraWhitespaces = true
        public var escapeWhitespaces = true
        public init() {}
    }

    /// The vocabulary; a piece's index is its id.
    public var pieces: [Piece]
    public var trainerSpec: TrainerSpec
    public var normalizerSpec: NormalizerSpec
    /// Applied to decoded text when present (rare).
    public var denormalizerSpec: NormalizerSpec?

    /// Builds a model from its parts and validates it.
    public init(
        pieces: [Piece], trainerSpec: TrainerSpec, normalizerSpec: NormalizerSpec,
        denormalizerSpec: NormalizerSpec? = nil
    ) throws {
        self.pieces = pieces
        self.trainerSpec = trainerSpec
        self.normalizerSpec = normalizerSpec
        self.denormalizerSpec = denormalizerSpec
        try validate()
    }

    /// Loads a `.model` file.
    public init(contentsOf url: URL) throws {
        let path = url.path
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw SentencePieceError.fileNotFound(path: path)
        }
        guard !isDirectory.boolValue else {
            throw SentencePieceError.unreadableFile(path: path, reason: "it is a directory")
        }
        let data: Data
        do {
            data = try Data(contentsOf: url)
        } catch {
            throw SentencePieceError.unreadableFile(path: path, reason: "\(error.localizedDescription)")
        }
        try self.init(serialized: [UInt8](data))
    }

    /// Parses a serialized `ModelProto`.
    public init(serialized bytes: [UInt8]) throws {
        guard !bytes.isEmpty else {
            throw SentencePieceError.malformedProtobuf(offset: 0, reason: "the data is empty")
        }
        var reader = SentencePieceProtobufReader(bytes: bytes)
        var pieces: [Piece] = []
        var trainer = TrainerSpec()
        var normalizer = NormalizerSpec()
        var denormalizer: NormalizerSpec?
        while let (field, wire) = try reader.readTag() {
            switch field {
            case 1:
                guard try reader.accept(wire, .lengthDelimited, field: field) else { continue }
                let range = try reader.readLengthDelimited()
                pieces.append(try Self.parsePiece(bytes: bytes, range: range))
            case 2:
                guard try reader.accept(wire, .lengthDelimited, field: field) else { continue }
                trainer = try Self.parseTrainerSpec(bytes: bytes, range: try reader.readLengthDelimited())
            case 3:
                guard try reader.accept(wire, .lengthDelimited, field: field) else { continue }
                normalizer = try Self.parseNormalizerSpec(bytes: bytes, range: try reader.readLengthDelimited())
            case 5:
                guard try reader.accept(wire, .lengthDelimited, field: field) else { continue }
                denormalizer = try Self.parseNormalizerSpec(bytes: bytes, range: try reader.readLengthDelimited())
            default:
                try reader.skipField(wire, field: field)
            }
        }
        try self.init(
            pieces: pieces, trainerSpec: trainer, normalizerSpec: normalizer,
            denormalizerSpec: denormalizer)
    }

    private static func parsePiece(bytes: [UInt8], range: Range<Int>) throws -> Piece {
        var reader = SentencePieceProtobufReader(bytes: bytes, range: range)
        var piece = Piece(piece: "", score: 0, type: .normal)
        while let (field, wire) = try reader.readTag() {
            switch field {
            case 1:
                guard try reader.accept(wire, .lengthDelimited, field: field) else { continue }
                piece.piece = try reader.readString()
            case 2:
                guard try reader.accept(wire, .fixed32, field: field) else { continue }
                piece.score = try reader.readFloat()
            case 3:
                guard try reader.accept(wire, .varint, field: field) else { continue }
                let raw = try reader.readVarint()
                // proto2 keeps an unknown enum value as an unknown field: the type stays as it was.
                if raw <= 6, let type = PieceType(rawValue: Int(raw)) { piece.type = type }
            default:
                try reader.skipField(wire, field: field)
            }
        }
        return piece
    }

    private static func parseTrainerSpec(bytes: [UInt8], range: Range<Int>) throws -> TrainerSpec {
        var reader = SentencePieceProtobufReader(bytes: bytes, range: range)
        var spec = TrainerSpec()
        while let (field, wire) = try reader.readTag() {
            switch field {
            case 3:
                guard try reader.accept(wire, .varint, field: field) else { continue }
                let raw = try reader.readVarint()
                if raw <= 4, let type = ModelType(rawValue: Int(raw)) { spec.modelType = type }
            case 4: if try reader.accept(wire, .varint, field: field) { spec.vocabSize = Int(try reader.readInt32()) }
            case 10:
                if try reader.accept(wire, .fixed32, field: field) { spec.characterCoverage = try reader.readFloat() }
            case 20:
                if try reader.accept(wire, .varint, field: field) {
                    spec.maxSentencePieceLength = Int(try reader.readInt32())
                }
            case 21:
                if try reader.accept(wire, .varint, field: field) { spec.splitByUnicodeScript = try reader.readBool() }
            case 22:
                if try reader.accept(wire, .varint, field: field) { spec.splitByWhitespace = try reader.readBool() }
            case 23: if try reader.accept(wire, .varint, field: field) { spec.splitByNumber = try reader.readBool() }
            case 24:
                if try reader.accept(wire, .varint, field: field) {
                    spec.treatWhitespaceAsSuffix = try reader.readBool()
                }
            case 25: if try reader.accept(wire, .varint, field: field) { spec.splitDigits = try reader.readBool() }
            case 26:
                if try reader.accept(wire, .varint, field: field) {
                    spec.allowWhitespaceOnlyPieces = try reader.readBool()
                }
            case 30:
                if try reader.accept(wire, .lengthDelimited, field: field) {
                    spec.controlSymbols.append(try reader.readString())
                }
            case 31:
                if try reader.accept(wire, .lengthDelimited, field: field) {
                    spec.userDefinedSymbols.append(try reader.readString())
                }
            case 35: if try reader.accept(wire, .varint, field: field) { spec.byteFallback = try reader.readBool() }
            case 40: if try reader.accept(wire, .varint, field: field) { spec.unkID = Int(try reader.readInt32()) }
            case 41: if try reader.accept(wire, .varint, field: field) { spec.bosID = Int(try reader.readInt32()) }
            case 42: if try reader.accept(wire, .varint, field: field) { spec.eosID = Int(try reader.readInt32()) }
            case 43: if try reader.accept(wire, .varint, field: field) { spec.padID = Int(try reader.readInt32()) }
            case 44:
                if try reader.accept(wire, .lengthDelimited, field: field) { spec.unkSurface = try reader.readString() }
            case 45:
                if try reader.accept(wire, .lengthDelimited, field: field) { spec.unkPiece = try reader.readString() }
            case 46:
                if try reader.accept(wire, .lengthDelimited, field: field) { spec.bosPiece = try reader.readString() }
            case 47:
                if try reader.accept(wire, .lengthDelimited, field: field) { spec.eosPiece = try reader.readString() }
            case 48:
                if try reader.accept(wire, .lengthDelimited, field: field) { spec.padPiece = try reader.readString() }
            default: try reader.skipField(wire, field: field)
            }
        }
        return spec
    }

    private static func parseNormalizerSpec(bytes: [UInt8], range: Range<Int>) throws -> NormalizerSpec {
        var reader = SentencePieceProtobufReader(bytes: bytes, range: range)
        var spec = NormalizerSpec()
        while let (field, wire) = try reader.readTag() {
            switch field {
            case 1: if try reader.accept(wire, .lengthDelimited, field: field) { spec.name = try reader.readString() }
            case 2:
                if try reader.accept(wire, .lengthDelimited, field: field) {
                    spec.precompiledCharsmap = try reader.readBytes()
                }
            case 3: if try reader.accept(wire, .varint, field: field) { spec.addDummyPrefix = try reader.readBool() }
            case 4:
                if try reader.accept(wire, .varint, field: field) {
                    spec.removeExtraWhitespaces = try reader.readBool()
                }
            case 5: if try reader.accept(wire, .varint, field: field) { spec.escapeWhitespaces = try reader.readBool() }
            default: try reader.skipField(wire, field: field)
            }
        }
        return spec
    }

    /// The checks of sentencepiece's `ModelInterface::InitializePieces`.
    private func validate() throws {
        guard !pieces.isEmpty else { throw SentencePieceError.invalidModel(reason: "the model has no pieces") }
        switch trainerSpec.modelType {
        case .unigram, .bpe: break
        case .word: throw SentencePieceError.unsupportedModelType("WORD")
        case .char: throw SentencePieceError.unsupportedModelType("CHAR")
        }
        // Duplicate pieces are found when the processor builds its byte tries (a set of
        // 256k byte arrays here cost more than the rest of loading).
        var unkCount = 0
        var bytesFound = [Bool](repeating: false, count: 256)
        for (id, piece) in pieces.enumerated() {
            guard !piece.piece.isEmpty else {
                throw SentencePieceError.invalidModel(reason: "piece \(id) is empty")
            }
            guard !piece.piece.utf8.contains(0) else {
                throw SentencePieceError.invalidModel(reason: "piece \(id) contains a NUL character")
            }
            // unigram::Model refuses such scores; BPE never reads them as numbers that matter.
            guard piece.score.isFinite || trainerSpec.modelType != .unigram else {
                throw SentencePieceError.invalidModel(
                    reason: "piece \(id) has score \(piece.score), not a finite "
                        + "number")
            }
            if piece.type == .unknown { unkCount += 1 }
            if piece.type == .byte {
                guard trainerSpec.byteFallback else {
                    throw SentencePieceError.invalidModel(
                        reason: "byte piece \(piece.piece) (id \(id)) is present "
                            + "although byte_fallback is off")
                }
                guard let byte = SentencePieceModel.byteValue(ofPiece: piece.piece) else {
                    throw SentencePieceError.invalidModel(
                        reason: "byte piece \(piece.piece.debugDescription) (id "
                            + "\(id)) is not of the form <0xNN>")
                }
                bytesFound[Int(byte)] = true
            }
        }
        guard unkCount == 1 else {
            throw SentencePieceError.invalidModel(
                reason: unkCount == 0
                    ? "no piece has type UNKNOWN (<unk> is not defined)"
                    : "\(unkCount) pieces have type UNKNOWN; exactly one is allowed")
        }
        if trainerSpec.byteFallback, let missing = bytesFound.firstIndex(of: false) {
            throw SentencePieceError.invalidModel(
                reason: "byte_fallback is on but there is no byte piece for "
                    + "0x\(String(missing, radix: 16, uppercase: true))")
        }
    }

    /// `<0x41>` -> 0x41 (sentencepiece's PieceToByte: exactly two upper-case hex digits).
    static func byteValue(ofPiece piece: String) -> UInt8? {
        let u = Array(piece.utf8)
        guard u.count == 6, u[0] == UInt8(ascii: "<"), u[1] == UInt8(ascii: "0"), u[2] == UInt8(ascii: "x"),
            u[5] == UInt8(ascii: ">")
        else { return nil }
        func hex(_ c: UInt8) -> UInt8? {
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): return c - UInt8(ascii: "0")
            case UInt8(ascii: "A")...UInt8(ascii: "F"): return c - UInt8(ascii: "A") + 10
            default: return nil
            }
        }
        guard let hi = hex(u[3]), let lo = hex(u[4]) else { return nil }
        return hi << 4 | lo
    }

    /// 0x41 -> `<0x41>`.
    static func piece(forByte byte: UInt8) -> String {
        let digits = Array("0123456789ABCDEF")
        return "<0x\(digits[Int(byte >> 4)])\(digits[Int(byte & 15)])>"
    }
}
