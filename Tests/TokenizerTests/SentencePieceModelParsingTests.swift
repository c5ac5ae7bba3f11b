import Foundation
import XCTest

@testable import Tokenizer

/// The protobuf reader and `SentencePieceModel` loading: fields, defaults, and typed
/// errors (never a crash) on truncated, garbage or inconsistent input.
final class SentencePieceModelParsingTests: XCTestCase {
    func testParsesNLLBTinyModel() throws {
        let model = try SentencePieceModel(contentsOf: SentencePieceFixtures.nllbTinyBPEModel)
        XCTAssertEqual(model.pieces.count, 1200)
        XCTAssertEqual(model.trainerSpec.modelType, .bpe)
        XCTAssertFalse(model.trainerSpec.byteFallback)
        XCTAssertEqual(model.trainerSpec.unkID, 0)
        XCTAssertEqual(model.trainerSpec.bosID, 1)
        XCTAssertEqual(model.trainerSpec.eosID, 2)
        XCTAssertEqual(model.trainerSpec.padID, -1)  // negative int32: 10-byte varint
        XCTAssertEqual(model.normalizerSpec.name, "nmt_nfkc")
        XCTAssertTrue(model.normalizerSpec.addDummyPrefix)
        XCTAssertTrue(model.normalizerSpec.removeExtraWhitespaces)
        XCTAssertTrue(model.normalizerSpec.escapeWhitespaces)
        XCTAssertFalse(model.normalizerSpec.precompiledCharsmap.isEmpty)
        XCTAssertEqual(model.pieces[0], .init(piece: "<unk>", score: 0, type: .unknown))
        XCTAssertEqual(model.pieces[1].type, .control)
        XCTAssertEqual(model.pieces[2].piece, "</s>")
    }

    func testParsesUnigramAndByteModels() throws {
        let unigram = try SentencePieceModel(contentsOf: SentencePieceFixtures.testModel)
        XCTAssertEqual(unigram.trainerSpec.modelType, .unigram)
        XCTAssertEqual(unigram.normalizerSpec.name, "nfkc")
        XCTAssertEqual(unigram.pieces.count, 1000)
        let bytes = try SentencePieceModel(contentsOf: SentencePieceFixtures.bpeByteFallbackModel)
        XCTAssertTrue(bytes.trainerSpec.byteFallback)
        XCTAssertEqual(bytes.pieces.filter { $0.type == .byte }.count, 256)
        XCTAssertEqual(bytes.trainerSpec.userDefinedSymbols, ["<sep>", "[MASK]", "\u{1F642}", "ab"])
        XCTAssertEqual(bytes.normalizerSpec.name, "identity")
        XCTAssertTrue(bytes.normalizerSpec.precompiledCharsmap.isEmpty)
    }

    func testMatchesLibraryMetadata() throws {
        for (name, url) in SentencePieceFixtures.allModels {
            let model = try SentencePieceModel(contentsOf: url)
            let expected = try XCTUnwrap(SentencePieceFixtures.spmExpected.models[name])
            XCTAssertEqual(model.pieces.count, expected.piece_size, name)
            XCTAssertEqual(model.trainerSpec.unkID, expected.unk_id, name)
            XCTAssertEqual(model.trainerSpec.bosID, expected.bos_id, name)
            XCTAssertEqual(model.trainerSpec.eosID, expected.eos_id, name)
            XCTAssertEqual(model.trainerSpec.padID, expected.pad_id, name)
            XCTAssertEqual("\(model.trainerSpec.modelType)".uppercased(), expected.model_type, name)
            XCTAssertEqual(model.normalizerSpec.name, expected.normalizer_name, name)
        }
    }

    func testMissingFile() {
        let url = SentencePieceFixtures.root.appendingPathComponent("does-not-exist.model")
        XCTAssertThrowsError(try SentencePieceModel(contentsOf: url)) { error in
            XCTAssertEqual(error as? SentencePieceError, .fileNotFound(path: url.path))
            XCTAssertTrue("\(error)".contains("not found"))
        }
        XCTAssertThrowsError(try SentencePieceModel(contentsOf: SentencePieceFixtures.root)) { error in
            guard case .unreadableFile? = error as? SentencePieceError else { return XCTFail("\(error)") }
        }
    }

    func testEveryTruncationThrowsOrParsesWithoutCrashing() throws {
        let bytes = [UInt8](try Data(contentsOf: SentencePieceFixtures.bpeByteFallbackModel))
        var errors = 0
        // Every prefix length would be slow in debug builds; a dense sample is enough.
        var lengths = Array(0..<min(bytes.count, 400))
        lengths += stride(from: 400, to: bytes.count, by: 97)
        for length in lengths {
            do {
                _ = try SentencePieceModel(serialized: Array(bytes[0..<length]))
            } catch let error as SentencePieceError {
                errors += 1
                XCTAssertFalse(error.description.isEmpty)
            }
        }
        XCTAssertGreaterThan(errors, lengths.count / 2)
        XCTAssertThrowsError(try SentencePieceModel(serialized: Array(bytes.dropLast(1)))) { error in
            guard case .malformedProtobuf? = error as? SentencePieceError else { return XCTFail("\(error)") }
        }
    }

    func testGarbageThrowsTypedErrors() {
        var generator = SplitMix64(seed: 42)
        for round in 0..<300 {
            let count = Int(generator.next() % 512)
            let garbage = (0..<count).map { _ in UInt8(truncatingIfNeeded: generator.next()) }
            do {
                _ = try SentencePieceModel(serialized: garbage)
            } catch is SentencePieceError {
                continue
            } catch {
                XCTFail("round \(round): untyped error \(error)")
            }
        }
        // Text files that people mistake for models.
        for text in [
            "version https://git-lfs.github.com/spec/v1\noid sha256:abc\nsize 4852054\n", "<unk>\t0\n<s>\t0\n", "",
        ] {
            XCTAssertThrowsError(try SentencePieceModel(serialized: Array(text.utf8))) { error in
                XCTAssertTrue(error is SentencePieceError, "\(error)")
            }
        }
    }

    func testMalformedWireData() {
        // field 1 (pieces), length 200 but only 2 bytes follow
        XCTAssertThrowsError(try SentencePieceModel(serialized: [0x0A, 0xC8, 0x01, 0x0A, 0x00])) { error in
            XCTAssertEqual(
                error as? SentencePieceError,
                .malformedProtobuf(
                    offset: 1,
                    reason: "length-delimited field of 200 bytes runs past "
                        + "the end of the data"))
        }
        // unterminated varint
        XCTAssertThrowsError(try SentencePieceModel(serialized: [0x08, 0xFF, 0xFF])) { error in
            guard case .malformedProtobuf(let offset, _)? = error as? SentencePieceError else {
                return XCTFail("\(error)")
            }
            XCTAssertEqual(offset, 1)
        }
        // wire type 7 does not exist
        XCTAssertThrowsError(try SentencePieceModel(serialized: [0x0F])) { error in
            guard case .malformedProtobuf? = error as? SentencePieceError else { return XCTFail("\(error)") }
        }
        // pieces field sent as a varint: protobuf keeps it as an unknown field (as sentencepiece
        // does), so the model simply has no pieces
        XCTAssertThrowsError(try SentencePieceModel(serialized: [0x08, 0x01])) { error in
            XCTAssertEqual(error as? SentencePieceError, .invalidModel(reason: "the model has no pieces"))
        }
        // a message with only unknown fields (varint, fixed64, fixed32, group) parses but has no pieces
        let unknownOnly: [UInt8] = [
            0xF8, 0x01, 0x05, 0xF9, 0x01, 1, 2, 3, 4, 5, 6, 7, 8, 0xFD, 0x01, 1, 2, 3, 4,
            0xFB, 0x01, 0x08, 0x01, 0xFC, 0x01,
        ]
        XCTAssertThrowsError(try SentencePieceModel(serialized: unknownOnly)) { error in
            XCTAssertEqual(error as? SentencePieceError, .invalidModel(reason: "the model has no pieces"))
        }
    }

    func testInvalidModelsAreRejected() throws {
        let unk = SentencePieceModel.Piece(piece: "<unk>", score: 0, type: .unknown)
        var trainer = SentencePieceModel.TrainerSpec()
        trainer.modelType = .bpe
        let normalizer = SentencePieceModel.NormalizerSpec()
        XCTAssertThrowsError(
            try SentencePieceModel(
                pieces: [.init(piece: "a", score: 0)], trainerSpec: trainer, normalizerSpec: normalizer))
        // A duplicate piece is refused when the model is put to use (the processor's tries find it).
        let duplicated = try SentencePieceModel(
            pieces: [unk, .init(piece: "a", score: 0), .init(piece: "a", score: -1)],
            trainerSpec: trainer, normalizerSpec: normalizer)
        XCTAssertThrowsError(try SentencePieceProcessor(model: duplicated)) { error in
            XCTAssertTrue("\(error)".contains("defined twice"), "\(error)")
        }
        XCTAssertThrowsError(
            try SentencePieceModel(
                pieces: [unk, .init(piece: "", score: 0)], trainerSpec: trainer, normalizerSpec: normalizer))
        XCTAssertThrowsError(
            try SentencePieceModel(
                pieces: [unk, .init(piece: "<0x41>", score: 0, type: .byte)],
                trainerSpec: trainer, normalizerSpec: normalizer))
        trainer.byteFallback = true
        XCTAssertThrowsError(
            try SentencePieceModel(
                pieces: [unk, .init(piece: "<0x41>", score: 0, type: .byte)],
                trainerSpec: trainer, normalizerSpec: normalizer)
        ) { error in
            XCTAssertTrue("\(error)".contains("no byte piece for 0x0"), "\(error)")
        }
        trainer.byteFallback = false
        trainer.modelType = .word
        XCTAssertThrowsError(try SentencePieceModel(pieces: [unk], trainerSpec: trainer, normalizerSpec: normalizer)) {
            error in
            XCTAssertEqual(error as? SentencePieceError, .unsupportedModelType("WORD"))
        }
        trainer.modelType = .bpe
        var damaged = normalizer
        damaged.precompiledCharsmap = [0xFF, 0xFF, 0, 0, 1, 2, 3]
        let model = try SentencePieceModel(pieces: [unk], trainerSpec: trainer, normalizerSpec: damaged)
        XCTAssertThrowsError(try SentencePieceProcessor(model: model)) { error in
            guard case .invalidCharsMap? = error as? SentencePieceError else { return XCTFail("\(error)") }
        }
    }

    func testDamagedCharsMapNeverReadsOutOfBounds() throws {
        // A charsmap whose trie points anywhere: lookups must stay in bounds.
        var generator = SplitMix64(seed: 7)
        let unk = SentencePieceModel.Piece(piece: "<unk>", score: 0, type: .unknown)
        var trainer = SentencePieceModel.TrainerSpec()
        trainer.modelType = .unigram
        for _ in 0..<50 {
            let units = 1 + Int(generator.next() % 64)
            var blob: [UInt8] = [UInt8(units * 4 & 0xFF), UInt8(units * 4 >> 8), 0, 0]
            for _ in 0..<(units * 4 + Int(generator.next() % 32)) {
                blob.append(UInt8(truncatingIfNeeded: generator.next()))
            }
            var spec = SentencePieceModel.NormalizerSpec()
            spec.precompiledCharsmap = blob
            let model = try SentencePieceModel(
                pieces: [unk, .init(piece: "a", score: -1)], trainerSpec: trainer, normalizerSpec: spec)
            guard let processor = try? SentencePieceProcessor(model: model) else { continue }
            _ = processor.encode("abc \u{0} \u{FF} é 漢字 \u{1F600}")
        }
    }
}

/// A small deterministic generator for garbage inputs.
struct SplitMix64 {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
