import Foundation

/// Encodes and decodes text with a `SentencePieceModel`, id-exact with the
/// `sentencepiece` library's `SentencePieceProcessor` (`encode(text)`, `decode(ids)`,
/// `normalize(text)`) for BPE and unigram models.
///
/// Pipeline: normalization (precompiled charsmap, longest match; whitespace
/// handling; dummy prefix; spaces to U+2581) -> segmentation (BPE merges by piece
/// score, or unigram Viterbi) -> unknown handling (runs of unknown characters
/// become one `<unk>`, or byte pieces `<0xNN>` when byte fallback is on).
public struct SentencePieceProcessor: Tokenizer {
    /// The model this processor runs.
    public let model: SentencePieceModel
    /// Id of the `<unk>` piece.
    public let unknownID: Int

    struct MergeRule: Sendable, Equatable {
        var rank: Int32
        var merged: Int32
    }

    let normalizer: SentencePieceNormalizer
    let denormalizer: SentencePieceNormalizer?
    /// NORMAL, USER_DEFINED and UNUSED pieces (sentencepiece's `pieces_`).
    /// Every normal, user-defined and unused piece, for the exact lookups of BPE and `pieceToID`.
    let pieceTable: SentencePieceExactTable
    /// The same pieces as a trie, for unigram's prefix walks (empty for BPE models).
    let pieceTrie: SentencePieceByteTrie
    /// CONTROL, UNKNOWN and BYTE pieces (sentencepiece's `reserved_id_map_`).
    let reservedTrie: SentencePieceByteTrie
    let userDefinedMatcher: SentencePieceByteTrie?
    let pieceBytes: [[UInt8]]
    let scores: [Float]
    let types: [SentencePieceModel.PieceType]
    let byteIDs: [Int]
    let minScore: Float
    let maxScore: Float
    /// Hugging Face BPE merges (tokenizer.json): when set, BPE merges adjacent pieces
    /// by merge rank instead of by piece score.
    let mergeRanks: [UInt64: MergeRule]?

    /// Wraps a model.
    public init(model: SentencePieceModel) throws {
        try self.init(model: model, mergeRanks: nil)
    }

    /// Loads a `.model` file.
    public init(contentsOf url: URL) throws {
        try self.init(model: SentencePieceModel(contentsOf: url))
    }

    init(model: SentencePieceModel, mergeRanks: [UInt64: MergeRule]?) throws {
        self.model = model
        self.mergeRanks = mergeRanks
        let totalBytes = model.pieces.reduce(0) { $0 + $1.piece.utf8.count }
        let isUnigram = model.trainerSpec.modelType == .unigram
        var pieceTable = SentencePieceExactTable(capacity: model.pieces.count, totalBytes: totalBytes)
        var pieceTrie = isUnigram ? SentencePieceByteTrie(reservingForKeyBytes: totalBytes) : SentencePieceByteTrie()
        var reservedTrie = SentencePieceByteTrie()
        var userDefined = SentencePieceByteTrie()
        var unknownID = -1
        var byteIDs = [Int](repeating: -1, count: 256)
        var minScore = Float.greatestFiniteMagnitude
        var maxScore = Float.leastNormalMagnitude  // C++ FLT_MIN, as in unigram::Model
        var pieceBytes: [[UInt8]] = []
        pieceBytes.reserveCapacity(model.pieces.count)
        for (id, piece) in model.pieces.enumerated() {
            let bytes = Array(piece.piece.utf8)
            pieceBytes.append(bytes)
            // Byte-wise, as the library: Swift String equality is canonical equivalence
            // ("é" == "e\u{301}"), which would call two distinct pieces duplicates.
            let isNew: Bool
            switch piece.type {
            case .normal, .userDefined, .unused:
                isNew = pieceTable.insert(bytes, value: id)
                if isUnigram { pieceTrie.insert(bytes, value: id) }
            case .control, .unknown, .byte:
                isNew = reservedTrie.insert(bytes, value: id)
            }
            guard isNew else {
                throw SentencePieceError.invalidModel(
                    reason: "piece \(piece.piece.debugDescription) (id \(id)) is "
                        + "defined twice")
            }
            if piece.type == .userDefined { userDefined.insert(bytes, value: id) }
            if piece.type == .unknown { unknownID = id }
            if piece.type == .byte, let b = SentencePieceModel.byteValue(ofPiece: piece.piece) { byteIDs[Int(b)] = id }
            if piece.type == .normal {
                minScore = min(minScore, piece.score)
                maxScore = max(maxScore, piece.score)
            }
        }
        // The library keeps one namespace for all pieces: a reserved piece (control, unknown,
        // byte) spelled like a normal one is a duplicate too.
        for (id, piece) in model.pieces.enumerated()
        where piece.type == .control || piece.type == .unknown || piece.type == .byte {
            if let other = pieceTable.lookup(pieceBytes[id], 0..<pieceBytes[id].count) {
                throw SentencePieceError.invalidModel(
                    reason: "piece \(piece.piece.debugDescription) (ids "
                        + "\(min(id, other)) and \(max(id, other))) is defined twice")
            }
        }
        guard unknownID >= 0 else { throw SentencePieceError.invalidModel(reason: "no piece has type UNKNOWN") }
        self.unknownID = unknownID
        self.pieceTable = pieceTable
        self.pieceTrie = pieceTrie
        self.reservedTrie = reservedTrie
        self.userDefinedMatcher = userDefined.isEmpty ? nil : userDefined
        self.pieceBytes = pieceBytes
        self.scores = model.pieces.map(\.score)
        self.types = model.pieces.map(\.type)
        self.specialTokenIDs = Set(
            model.pieces.indices.filter { model.pieces[$0].type == .control || model.pieces[$0].type == .unknown })
        self.byteIDs = model.trainerSpec.byteFallback ? byteIDs : []
        self.minScore = minScore
        self.maxScore = maxScore
        self.normalizer = try SentencePieceNormalizer(
            spec: model.normalizerSpec,
            treatWhitespaceAsSuffix: model.trainerSpec.treatWhitespaceAsSuffix,
            userDefined: self.userDefinedMatcher)
        if let spec = model.denormalizerSpec, !spec.precompiledCharsmap.isEmpty {
            self.denormalizer = try SentencePieceNormalizer(
                spec: spec, treatWhitespaceAsSuffix: false, userDefined: nil)
        } else {
            self.denormalizer = nil
        }
    }

    // MARK: Vocabulary

    /// Number of pieces.
    public var vocabularySize: Int { model.pieces.count }

    /// CONTROL and UNKNOWN pieces: what `decode(_:skipSpecialTokens: true)` drops.
    public let specialTokenIDs: Set<Int>

    /// The piece string of an id, or nil when out of range.
    public func idToPiece(_ id: Int) -> String? {
        model.pieces.indices.contains(id) ? model.pieces[id].piece : nil
    }

    /// The id of a piece string; `unknownID` when it is not in the vocabulary (as the library).
    public func pieceToID(_ piece: String) -> Int {
        let bytes = Array(piece.utf8)
        return pieceID(bytes, 0..<bytes.count)
    }

    /// The type of a piece, or nil when out of range.
    public func pieceType(_ id: Int) -> SentencePieceModel.PieceType? {
        types.indices.contains(id) ? types[id] : nil
    }

    /// The score of a piece, or nil when out of range.
    public func score(_ id: Int) -> Float? {
        scores.indices.contains(id) ? scores[id] : nil
    }

    /// sentencepiece `PieceToId`: reserved pieces first, then normal ones, else `<unk>`.
    func pieceID(_ bytes: [UInt8], _ range: Range<Int>) -> Int {
        reservedTrie.lookup(bytes, range) ?? pieceTable.lookup(bytes, range) ?? unknownID
    }

    // MARK: Encoding

    /// The normalized form of `text` (spaces as U+2581), as `SentencePieceProcessor.normalize`.
    public func normalize(_ text: String) -> String {
        String(decoding: normalizer.normalize(Array(text.utf8)), as: UTF8.self)
    }

    /// Text to ids, as `SentencePieceProcessor.encode(text)`.
    public func encode(_ text: String) -> [Int] {
        encode(text, addDummyPrefix: nil)
    }

    /// Text to ids; `addDummyPrefix` overrides the model's flag when given.
    public func encode(_ text: String, addDummyPrefix: Bool?) -> [Int] {
        encodeNormalized(normalizer.normalize(Array(text.utf8), addDummyPrefix: addDummyPrefix)).map(\.id)
    }

    /// Text to piece strings, as `SentencePieceProcessor.encode(text, out_type=str)`.
    public func encodeAsPieces(_ text: String) -> [String] {
        encodeWithPieces(text).map(\.piece)
    }

    /// Text to (piece, id) pairs. `addDummyPrefix` overrides the model's flag when given.
    public func encodeWithPieces(_ text: String, addDummyPrefix: Bool? = nil) -> [(piece: String, id: Int)] {
        let normalized = normalizer.normalize(Array(text.utf8), addDummyPrefix: addDummyPrefix)
        return encodeNormalized(normalized).map {
            // Byte-fallback pieces are reported by name (`<0xE4>`), as the library does.
            (
                types[$0.id] == .byte
                    ? model.pieces[$0.id].piece : String(decoding: normalized[$0.range], as: UTF8.self), $0.id
            )
        }
    }

    /// Ids of already-normalized bytes (`PopulateSentencePieceText`): merges runs of
    /// unknown pieces, or spells them as byte pieces when byte fallback is on.
    func encodeNormalized(_ normalized: [UInt8]) -> [(range: Range<Int>, id: Int)] {
        let raw: [(range: Range<Int>, id: Int)]
        switch model.trainerSpec.modelType {
        case .bpe: raw = encodeBPE(normalized)
        default: raw = encodeUnigram(normalized)
        }
        var result: [(range: Range<Int>, id: Int)] = []
        result.reserveCapacity(raw.count)
        var previousWasUnknown = false
        for (range, id) in raw {
            let isUnknown = types[id] == .unknown
            if isUnknown && !byteIDs.isEmpty {
                for i in range { result.append((i..<(i + 1), byteIDs[Int(normalized[i])])) }
            } else if isUnknown && previousWasUnknown, let last = result.last {
                result[result.count - 1] = (last.range.lowerBound..<range.upperBound, last.id)
            } else {
                result.append((range, id))
            }
            previousWasUnknown = isUnknown
        }
        return result
    }

    // MARK: Decoding

    /// Ids to text, as `SentencePieceProcessor.decode(ids)`: control pieces vanish,
    /// `<unk>` becomes " \u{2047} " (or the model's unk_surface), byte pieces are
    /// reassembled (invalid UTF-8 -> U+FFFD per byte), U+2581 becomes a space and the
    /// leading space of the text is removed. Ids out of range are skipped (the library throws).
    public func decode(_ ids: [Int]) -> String {
        decode(ids, skipSpecialTokens: false)
    }

    /// `decode(_:)`; with `skipSpecialTokens` also drops `<unk>` (control pieces are always invisible).
    public func decode(_ ids: [Int], skipSpecialTokens: Bool) -> String {
        var text: [UInt8] = []
        var pendingBytes: [UInt8] = []
        var isBOSWhitespace = true
        var bosWhitespaceSeen = false
        let spec = model.normalizerSpec
        let stripsLeadingSpace = spec.addDummyPrefix || spec.removeExtraWhitespaces

        func flushBytes() {
            var offset = 0
            while offset < pendingBytes.count {
                let (scalar, length) = sentencePieceDecodeUTF8(pendingBytes, from: offset, to: pendingBytes.count)
                if scalar == nil {
                    text += [0xEF, 0xBF, 0xBD]
                } else {
                    text += pendingBytes[offset..<(offset + length)]
                }
                offset += length
            }
            pendingBytes.removeAll()
        }

        for id in ids where types.indices.contains(id) {
            if types[id] == .byte {
                if let b = SentencePieceModel.byteValue(ofPiece: model.pieces[id].piece) { pendingBytes.append(b) }
                continue
            }
            flushBytes()
            if bosWhitespaceSeen || !text.isEmpty { isBOSWhitespace = false }
            switch types[id] {
            case .control:
                bosWhitespaceSeen = false
            case .unknown:
                bosWhitespaceSeen = false
                if !skipSpecialTokens { text += Array((model.trainerSpec.unkSurface ?? " \u{2047} ").utf8) }
            default:
                var piece = pieceBytes[id][...]
                var consumed = false
                if isBOSWhitespace && stripsLeadingSpace && piece.starts(with: sentencePieceSpaceSymbol) {
                    piece = piece.dropFirst(3)
                    consumed = !spec.removeExtraWhitespaces
                }
                bosWhitespaceSeen = consumed
                text += Self.replacingSpaceSymbols(piece)
            }
        }
        flushBytes()
        if let denormalizer {
            text = denormalizer.normalize(text)
        }
        return String(decoding: text, as: UTF8.self)
    }

    /// The bytes one id stands for in decoded text, for streaming: U+2581 becomes a
    /// space; with `isFirst` (nothing visible decoded yet) a leading space is dropped as
    /// `decode` does; control pieces are empty; `<unk>` is the unk surface; a byte piece
    /// is its single (possibly partial UTF-8) byte. Nil for an id out of range.
    public func bytes(forToken id: Int, isFirst: Bool) -> [UInt8]? {
        guard types.indices.contains(id) else { return nil }
        switch types[id] {
        case .control: return []
        case .unknown: return Array((model.trainerSpec.unkSurface ?? " \u{2047} ").utf8)
        case .byte: return SentencePieceModel.byteValue(ofPiece: model.pieces[id].piece).map { [$0] } ?? []
        default:
            var piece = pieceBytes[id][...]
            let spec = model.normalizerSpec
            if isFirst && (spec.addDummyPrefix || spec.removeExtraWhitespaces)
                && piece.starts(with: sentencePieceSpaceSymbol)
            {
                piece = piece.dropFirst(3)
            }
            return Self.replacingSpaceSymbols(piece)
        }
    }

    static func replacingSpaceSymbols(_ piece: ArraySlice<UInt8>) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(piece.count)
        var i = piece.startIndex
        while i < piece.endIndex {
            if piece[i] == 0xE2, i + 2 < piece.endIndex, piece[i + 1] == 0x96, piece[i + 2] == 0x81 {
                out.append(0x20)
                i += 3
            } else {
                out.append(piece[i])
                i += 1
            }
        }
        return out
    }
}
