import CheckpointFormats
import Foundation
import XCTest

/// Replays the differential corpus (Tests/Fixtures/TorchCorpus/, made by
/// scripts/fixtures/make_torch_corpus.py): every mutated checkpoint torch.load(weights_only=True)
/// refuses, `TorchCheckpoint` refuses with a typed error; every one torch accepts, it reads
/// with the same names, dtypes, shapes and values, unless it refuses for one of
/// `DeliberateRefusal`'s reasons.
final class TorchCorpusTests: XCTestCase {
    /// The things torch reads that this engine deliberately does not, each recognised by its error.
    enum DeliberateRefusal: String, CaseIterable {
        case unreadDType = "a storage dtype this engine does not read (complex, quantized, float8)"
        case bigEndian = "big-endian storages"
        case notAStateDict = "a checkpoint that is not a dict of tensors"
        case compressedEntry = "a compressed zip entry (torch.save never writes one)"
        case unlistedLegacyStorage = "a legacy storage missing from the key list (torch gives uninitialised memory)"
        case unnamedTensor = "a tensor under a key that is not a string"

        func matches(_ error: CheckpointFormatError) -> Bool {
            if self == .compressedEntry, case .compressedEntry = error { return true }
            guard case .unsupportedLayout(_, let reason) = error else { return false }
            switch self {
            case .unreadDType: return reason.contains("a dtype this engine does not read")
            case .bigEndian: return reason.contains("endian")
            case .notAStateDict: return reason.contains("not a dict of tensors")
            case .compressedEntry: return false
            case .unlistedLegacyStorage: return reason.contains("which the storage key list leaves out")
            case .unnamedTensor: return reason.contains("which is not a string name")
            }
        }
    }

    func testEveryCaseAgreesWithTorch() throws {
        let corpus = try TorchCorpus.load()
        XCTAssertGreaterThan(corpus.cases.count, 300)
        var disagreements: [String] = []
        var refusedLikeTorch = 0
        var acceptedLikeTorch = 0
        var deliberate: [DeliberateRefusal: Int] = [:]
        var faults: [String: Int] = [:]  // Our refusals by error case, for the report.
        for testCase in corpus.cases {
            let bytes = try testCase.apply(to: corpus.base(testCase.base))
            let label = "case \(testCase.id) (\(testCase.kind))"
            let ours: Result<TorchCheckpoint, Error> = Result { try TorchFixtures.read(bytes, path: "case.bin") }
            switch (testCase.torch, ours) {
            case (.refused, .failure(let error)):
                if let error = error as? CheckpointFormatError {
                    refusedLikeTorch += 1
                    faults[Mirror(reflecting: error).children.first?.label ?? "\(error)", default: 0] += 1
                } else {
                    disagreements.append("\(label): untyped error \(error)")
                }
            case (.refused(let message), .success):
                disagreements.append("\(label): accepted, torch refuses: \(message)")
            case (.accepted, .failure(let error)):
                guard let error = error as? CheckpointFormatError,
                    let reason = DeliberateRefusal.allCases.first(where: { $0.matches(error) })
                else {
                    disagreements.append("\(label): refused (\(error)), torch accepts")
                    continue
                }
                deliberate[reason, default: 0] += 1
            case (.accepted(_, unstable: true), .success):
                disagreements.append("\(label): accepted, but torch's values are not from the file (they change)")
            case (.accepted(let expected, _), .success(let checkpoint)):
                let got = checkpoint.tensors.map { TorchCorpus.Tensor($0, in: bytes) }
                if got == expected {
                    acceptedLikeTorch += 1
                } else {
                    disagreements.append("\(label): read \(got), torch reads \(expected)")
                }
            }
        }
        print(
            "torch corpus: \(corpus.cases.count) cases, \(refusedLikeTorch) refused and \(acceptedLikeTorch) "
                + "read "
                + "as torch does, deliberate refusals \(deliberate.map { "\($0.key): \($0.value)" }); "
                + "refusals by kind \(faults.sorted { $0.value > $1.value }.map { "\($0.key): \($0.value)" })")
        for line in disagreements.prefix(40) { XCTFail(line) }
        // TORCH_CORPUS_DUMP=<file> writes every disagreement, not only the first 40.
        if let dump = ProcessInfo.processInfo.environment["TORCH_CORPUS_DUMP"] {
            try disagreements.joined(separator: "\n").write(toFile: dump, atomically: true, encoding: .utf8)
        }
        XCTAssertEqual(disagreements.count, 0, "\(disagreements.count) disagreements with torch")
    }

    /// The replay itself can fail: the unmutated bases read as torch read them, and a storage
    /// byte flipped changes the checksum the comparison relies on.
    func testChecksumsSeeValueChanges() throws {
        let corpus = try TorchCorpus.load()
        var bytes = try corpus.base("zip")
        let checkpoint = try TorchFixtures.read(bytes)
        let before = checkpoint.tensors.map { TorchCorpus.Tensor($0, in: bytes) }
        let matrix = try XCTUnwrap(checkpoint.tensors.first { $0.name == "matrix" })
        bytes[matrix.storageRange.lowerBound] ^= 1
        let after = try TorchFixtures.read(bytes).tensors.map { TorchCorpus.Tensor($0, in: bytes) }
        XCTAssertNotEqual(before.first?.checksum, after.first?.checksum)
        XCTAssertEqual(before.dropFirst(3), after.dropFirst(3))  // matrix, matrix_t and row share the storage
    }
}

/// The committed corpus: two base files and, per case, the edits that make it and torch's verdict.
struct TorchCorpus: Decodable {
    struct Tensor: Equatable, CustomStringConvertible {
        let name: String
        let dtype: String
        let shape: [Int]
        let checksum: String

        init(name: String, dtype: String, shape: [Int], checksum: String) {
            (self.name, self.dtype, self.shape, self.checksum) = (name, dtype, shape, checksum)
        }

        /// The record with FNV-1a 64 of its contiguous little-endian bytes, as the generator hashes torch's tensor.
        init(_ record: TorchTensorRecord, in file: [UInt8]) {
            var out = [UInt8](repeating: 0, count: record.elementCount * record.dtype.size)
            file.withUnsafeBytes { source in
                out.withUnsafeMutableBytes { record.copyContiguous(from: source, into: $0) }
            }
            var hash: UInt64 = 0xCBF2_9CE4_8422_2325
            for byte in out { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01B3 }
            let hex = String(hash, radix: 16)
            self.init(
                name: record.name, dtype: record.dtype.rawValue, shape: record.shape,
                checksum: String(repeating: "0", count: 16 - hex.count) + hex)
        }

        var description: String { "\(name) \(dtype)\(shape) \(checksum)" }
    }

    enum Verdict: Decodable {
        /// `unstable`: two loads gave different values, so torch read bytes that are not in the file.
        case accepted([Tensor], unstable: Bool)
        case refused(String)

        private enum Keys: String, CodingKey { case accepted, tensors, error, unstable }

        init(from decoder: Decoder) throws {
            let container = try decoder.container(keyedBy: Keys.self)
            guard try container.decode(Bool.self, forKey: .accepted) else {
                self = .refused(try container.decode(String.self, forKey: .error))
                return
            }
            var list = try container.nestedUnkeyedContainer(forKey: .tensors)
            var tensors: [Tensor] = []
            while !list.isAtEnd {
                var fields = try list.nestedUnkeyedContainer()
                tensors.append(
                    Tensor(
                        name: try fields.decode(String.self), dtype: try fields.decode(String.self),
                        shape: try fields.decode([Int].self), checksum: try fields.decode(String.self)))
            }
            self = .accepted(tensors, unstable: try container.decodeIfPresent(Bool.self, forKey: .unstable) ?? false)
        }
    }

    /// Replace `deleted` bytes at `offset` (of the base) by `inserted`.
    struct Edit: Decodable {
        let offset: Int
        let deleted: Int
        let inserted: [UInt8]

        init(from decoder: Decoder) throws {
            var fields = try decoder.unkeyedContainer()
            offset = try fields.decode(Int.self)
            deleted = try fields.decode(Int.self)
            let hex = Array(try fields.decode(String.self).utf8)
            guard hex.count % 2 == 0 else { throw CocoaError(.fileReadCorruptFile) }
            inserted = try stride(from: 0, to: hex.count, by: 2).map { index in
                guard let byte = UInt8(String(decoding: hex[index..<index + 2], as: UTF8.self), radix: 16) else {
                    throw CocoaError(.fileReadCorruptFile)
                }
                return byte
            }
        }
    }

    struct Case: Decodable {
        let id: Int
        let base: String
        let kind: String
        let edits: [Edit]
        let torch: Verdict

        /// The mutated file; edits come highest offset first, so each offset is still a base offset.
        func apply(to base: [UInt8]) throws -> [UInt8] {
            var bytes = base
            for edit in edits {
                guard edit.offset >= 0, edit.deleted >= 0, edit.offset + edit.deleted <= bytes.count else {
                    throw CocoaError(.fileReadCorruptFile)
                }
                bytes.replaceSubrange(edit.offset..<(edit.offset + edit.deleted), with: edit.inserted)
            }
            return bytes
        }
    }

    let bases: [String: String]
    let cases: [Case]

    static let root = TorchFixtures.root.deletingLastPathComponent().appendingPathComponent("TorchCorpus")

    static func load() throws -> TorchCorpus {
        try JSONDecoder().decode(TorchCorpus.self, from: Data(contentsOf: root.appendingPathComponent("corpus.json")))
    }

    func base(_ name: String) throws -> [UInt8] {
        guard let file = bases[name] else { throw CocoaError(.fileNoSuchFile) }
        return [UInt8](try Data(contentsOf: Self.root.appendingPathComponent(file)))
    }
}
