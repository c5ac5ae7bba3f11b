import Foundation
import XCTest

/// Test support shared by the reader corpus tests of several test targets.
///
/// A committed differential corpus (Tests/Fixtures/ReaderCorpus/, written by
/// scripts/fixtures/make_*_corpus.py): cases built from seed files by splices, each with the
/// reference implementation's verdict.
public struct ReaderCorpus {
    public struct Case {
        public let id: String
        public let seed: String
        public let mutation: String
        public let accepted: Bool
        public let referenceError: String?
        public let fields: [String: Any]
        public let splices: [(at: Int, delete: Int, insert: Data)]
    }

    public static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures")

    public let cases: [Case]
    /// The corpus' other top-level members (the reference's name and version, inputs...).
    public let document: [String: Any]
    private let seeds: [String: Data]

    public init(_ name: String) throws {
        let url = Self.fixtures.appendingPathComponent("ReaderCorpus").appendingPathComponent(name)
        let document = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any])
        // Seeds are named in "seeds", or a case names its seed as a folder and a file.
        let objects = try XCTUnwrap(document["cases"] as? [[String: Any]])
        var seedPaths = document["seeds"] as? [String: String] ?? [:]
        for object in objects where object["seed"] == nil {
            seedPaths["\(object["folder"]!)/\(object["file"]!)"] = "\(object["folder"]!)/\(object["file"]!)"
        }
        seeds = try seedPaths.mapValues { try Data(contentsOf: Self.fixtures.appendingPathComponent($0)) }
        self.document = document.filter { $0.key != "cases" }
        cases = objects.map { object in
            let splices = (object["splices"] as? [[Any]] ?? []).map { splice in
                (at: splice[0] as! Int, delete: splice[1] as! Int, insert: Data(base64Encoded: splice[2] as! String)!)
            }
            let seed = object["seed"] as? String ?? "\(object["folder"]!)/\(object["file"]!)"
            return Case(
                id: object["id"] as! String, seed: seed, mutation: object["mutation"] as! String,
                accepted: object["accepted"] as! Bool, referenceError: object["error"] as? String, fields: object,
                splices: splices)
        }
    }

    /// The case's file: its seed with the splices applied in order.
    public func bytes(of item: Case) -> Data {
        Self.apply(item.splices, to: seeds[item.seed]!)
    }

    public static func apply(_ splices: [(at: Int, delete: Int, insert: Data)], to seed: Data) -> Data {
        var data = seed
        for splice in splices {
            let start = data.startIndex + splice.at
            data.replaceSubrange(start..<(start + splice.delete), with: splice.insert)
        }
        return data
    }

    /// Splices as the corpus stores them: `[at, delete, insert_base64]`.
    public static func apply(_ splices: [[Any]], to seed: Data) -> Data {
        apply(
            splices.map { (at: $0[0] as! Int, delete: $0[1] as! Int, insert: Data(base64Encoded: $0[2] as! String)!) },
            to: seed)
    }
}

/// FNV-1a 64, as the corpus scripts compute it, in lowercase hex.
public func fnv1a64(_ bytes: some Sequence<UInt8>) -> String {
    var hash: UInt64 = 0xCBF2_9CE4_8422_2325
    for byte in bytes {
        hash ^= UInt64(byte)
        hash = hash &* 0x100_0000_01B3
    }
    let hex = String(hash, radix: 16)
    return String(repeating: "0", count: 16 - hex.count) + hex
}

/// Seeded structure-aware mutations of a JSON (or any text) file for the bounded fuzz tests:
/// bit flips, deleted and duplicated ranges, truncation, and JSON's own tokens (numbers at their
/// limits, wrong types, unbalanced brackets) spliced in at random places.
public struct TextMutator {
    private var state: UInt64

    public init(seed: UInt64) { state = seed }

    private mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    private mutating func below(_ n: Int) -> Int { n <= 1 ? 0 : Int(next() % UInt64(n)) }

    static let tokens = [
        "-1", "0", "1e309", "-0", "1.5", "9223372036854775808", "true", "null", "\"\"", "\"x\"",
        "[]", "{}", "[", "]", "{", "}", ",", ":", "\"\\ud800\"", "NaN", "\u{0}", "\"vocab_size\": 0,",
    ]

    /// `seed` with one to three mutations.
    public mutating func mutate(_ seed: Data) -> Data {
        var bytes = [UInt8](seed)
        for _ in 0...below(3) {
            guard !bytes.isEmpty else { break }
            let at = below(bytes.count)
            switch below(6) {
            case 0: bytes[at] ^= UInt8(1 << below(8))
            case 1: bytes.removeSubrange(at..<min(bytes.count, at + 1 + below(16)))
            case 2: bytes.insert(contentsOf: bytes[at..<min(bytes.count, at + 1 + below(32))], at: below(bytes.count))
            case 3: bytes.removeSubrange(at...)
            default:
                let token = Self.tokens[below(Self.tokens.count)]
                let end = min(bytes.count, at + below(8))
                bytes.replaceSubrange(at..<end, with: Array(token.utf8))
            }
        }
        return Data(bytes)
    }
}
