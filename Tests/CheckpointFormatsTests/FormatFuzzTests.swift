import CheckpointFormats
import XCTest

/// Bounded fuzzing of the zip and pickle readers: the fixtures mutated by a seeded generator,
/// a few thousand times each. Every outcome must be a clean read (whose tensors then copy in
/// bounds) or a `CheckpointFormatError`; a trap fails the whole test run.
final class FormatFuzzTests: XCTestCase {
    /// SplitMix64: reproducible across platforms, so a failure names its seed and iteration.
    struct Generator: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    static func mutate(_ input: [UInt8], _ random: inout Generator) -> [UInt8] {
        var bytes = input
        for _ in 0..<Int.random(in: 1...6, using: &random) {
            guard !bytes.isEmpty else { break }
            let at = Int.random(in: 0..<bytes.count, using: &random)
            switch Int.random(in: 0..<6, using: &random) {
            case 0: bytes[at] = UInt8.random(in: 0...255, using: &random)
            case 1: bytes[at] ^= 1 << UInt8.random(in: 0..<8, using: &random)
            case 2: bytes.removeSubrange(at...)
            case 3:
                bytes.insert(
                    contentsOf: (0..<Int.random(in: 1...8, using: &random)).map { _ in
                        UInt8.random(in: 0...255, using: &random)
                    }, at: at)
            case 4: bytes[at] = [0x00, 0xFF, 0x7F, 0x80][Int.random(in: 0..<4, using: &random)]
            default:
                let end = min(bytes.count, at + Int.random(in: 1...16, using: &random))
                bytes.removeSubrange(at..<end)
            }
        }
        return bytes
    }

    private func fuzz(_ fixture: String, iterations: Int, seed: UInt64) throws {
        let original = try TorchFixtures.bytes(fixture)
        var random = Generator(state: seed)
        var read = 0
        var refused = 0
        for iteration in 0..<iterations {
            let bytes = Self.mutate(original, &random)
            do {
                let checkpoint = try TorchFixtures.read(bytes)
                for record in checkpoint.tensors {
                    _ = TorchFixtures.values(of: record, in: bytes)
                    if let range = record.contiguousRange {
                        XCTAssertTrue(
                            range.lowerBound >= 0 && range.upperBound <= bytes.count,
                            "\(fixture) "
                                + "iteration \(iteration)")
                    }
                }
                read += 1
            } catch is CheckpointFormatError {
                refused += 1
            } catch {
                XCTFail("\(fixture) seed \(seed) iteration \(iteration): untyped error \(error)")
            }
        }
        // Both outcomes must occur, or the mutations are not reaching the parser.
        XCTAssertGreaterThan(refused, iterations / 10, fixture)
        XCTAssertGreaterThan(read, 0, fixture)
    }

    func testZipFormat() throws { try fuzz("features-zip.bin", iterations: 5000, seed: 17) }

    func testLegacyFormat() throws { try fuzz("features-legacy.bin", iterations: 5000, seed: 18) }

    /// The pickle alone (no container), so every mutation lands in pickle bytes.
    func testPickle() throws {
        let zip = try TorchFixtures.bytes("features-zip.bin")
        let archive = try zip.withUnsafeBytes { try ZipArchive(bytes: $0, path: "features-zip.bin") }
        let entry = try XCTUnwrap(archive.entries.first { $0.name.hasSuffix("/data.pkl") })
        let pickle = Array(zip[try zip.withUnsafeBytes { try archive.dataRange(of: entry, in: $0) }])
        var random = Generator(state: 19)
        var refused = 0
        for iteration in 0..<5000 {
            let bytes = Self.mutate(pickle, &random)
            do {
                _ = try bytes.withUnsafeBytes { try PickleMachine.load($0, path: "data.pkl") }
            } catch is CheckpointFormatError {
                refused += 1
            } catch {
                XCTFail("iteration \(iteration): untyped error \(error)")
            }
        }
        XCTAssertGreaterThan(refused, 300)
    }
}
