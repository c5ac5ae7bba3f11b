import Foundation
import InferenceServer
import XCTest

/// `octavo-infer download --dir` against a local server that speaks the hub's HTTP API
/// (FakeHub), serving the fixture folders: LFS-style redirects with published digests,
/// Range resumes, auth, and the failures a user can meet. HubCacheTests covers the cache.
final class DownloadCommandTests: XCTestCase {
    var hub: FakeHub!
    var destination: URL!

    override func setUpWithError() throws {
        hub = FakeHub()
        hub.add("octavo/tiny", folder: CLI.fixtures.appendingPathComponent("GPT2/tiny"))
        hub.add("octavo/sharded", folder: CLI.fixtures.appendingPathComponent("GPT2/variant"))
        hub.add("octavo/tokenizer-only", folder: CLI.fixtures.appendingPathComponent("Tokenizer/gpt2"))
        try hub.start()
        destination = FileManager.default.temporaryDirectory.appendingPathComponent("download-\(UUID().uuidString)")
    }

    override func tearDownWithError() throws {
        hub.stop()
        try? FileManager.default.removeItem(at: destination)
    }

    func download(_ repo: String, _ extra: [String] = []) throws -> CLI.Result {
        try CLI.run(
            [
                "download", repo, "--dir", destination.path, "--endpoint", "http://127.0.0.1:\(hub.port)", "--timeout",
                "20",
            ] + extra)
    }

    func testDownloadsWhatAModelNeedsAndItRuns() throws {
        let result = try download("octavo/tiny")
        XCTAssertEqual(result.status, 0, result.stderr)
        let got = try FileManager.default.contentsOfDirectory(atPath: destination.path).sorted()
        XCTAssertEqual(
            got,
            [
                "config.json", "generation_config.json", "merges.txt", "model.safetensors", "special_tokens_map.json",
                "tokenizer.json", "tokenizer_config.json", "vocab.json", "added_tokens.json",
            ].sorted())
        XCTAssertFalse(got.contains("trainer_state.json"))
        for name in got {
            XCTAssertEqual(
                FileManager.default.contents(atPath: destination.appendingPathComponent(name).path),
                FileManager.default.contents(atPath: CLI.fixtures.appendingPathComponent("GPT2/tiny/\(name)").path),
                name)
        }
        let generated = try CLI.run([
            "generate", "--model", destination.path, "--prompt", "Once upon a time", "--greedy", "--max-new-tokens",
            "3", "--json",
        ])
        let original = try CLI.run([
            "generate", "--model", CLI.fixtures.appendingPathComponent("GPT2/tiny").path, "--prompt",
            "Once upon a time",
            "--greedy", "--max-new-tokens", "3", "--json",
        ])
        XCTAssertEqual(try generated.json()["generated_ids"] as? [Int], try original.json()["generated_ids"] as? [Int])
        // A second run finds everything complete and fetches nothing.
        let again = try download("octavo/tiny")
        XCTAssertEqual(again.status, 0)
        XCTAssertTrue(again.stderr.contains("model.safetensors: already complete"), again.stderr)
    }

    func testResumesAPartialFileWithARange() throws {
        try FileManager.default.createDirectory(at: destination, withIntermediateDirectories: true)
        let full = try Data(contentsOf: CLI.fixtures.appendingPathComponent("GPT2/tiny/model.safetensors"))
        try full.prefix(100_000).write(to: destination.appendingPathComponent("model.safetensors.part"))
        let result = try download("octavo/tiny")
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertEqual(hub.ranges, ["bytes=100000-"])
        XCTAssertEqual(try Data(contentsOf: destination.appendingPathComponent("model.safetensors")), full)
        XCTAssertFalse(
            FileManager.default.fileExists(atPath: destination.appendingPathComponent("model.safetensors.part").path))
    }

    func testShardedCheckpointFetchesIndexAndEveryShard() throws {
        let result = try download("octavo/sharded")
        XCTAssertEqual(result.status, 0, result.stderr)
        let got = Set(try FileManager.default.contentsOfDirectory(atPath: destination.path))
        XCTAssertTrue(
            got.isSuperset(of: [
                "model.safetensors.index.json", "model-00001-of-00003.safetensors",
                "model-00002-of-00003.safetensors", "model-00003-of-00003.safetensors",
            ]))
    }

    func testChecksumMismatchFailsAndRemovesThePartialFile() throws {
        hub.wrongDigests = true
        let result = try download("octavo/tiny")
        XCTAssertEqual(result.status, 1)
        XCTAssertTrue(result.stderr.contains("SHA-256"), result.stderr)
        XCTAssertFalse(
            FileManager.default.fileExists(atPath: destination.appendingPathComponent("model.safetensors").path))
        XCTAssertFalse(
            FileManager.default.fileExists(atPath: destination.appendingPathComponent("model.safetensors.part").path))
    }

    func testErrorsSayWhatToDo() throws {
        let missing = try download("octavo/nope")
        XCTAssertEqual(missing.status, 1)
        XCTAssertTrue(missing.stderr.contains("not found"), missing.stderr)
        let noWeights = try download("octavo/tokenizer-only")
        XCTAssertEqual(noWeights.status, 1)
        XCTAssertTrue(noWeights.stderr.contains("safetensors"), noWeights.stderr)
        XCTAssertEqual(try download("../etc").status, 2)
        XCTAssertEqual(
            try CLI.run(["download", "octavo/tiny", "--dir", destination.path, "--endpoint", "ftp://x"]).status, 2)
        let unreachable = try CLI.run([
            "download", "octavo/tiny", "--dir", destination.path, "--endpoint", "http://127.0.0.1:1", "--timeout", "5",
        ])
        XCTAssertEqual(unreachable.status, 1)
    }

    /// Anchors the fake hub's digests (and so, through every download above, the client's) to FIPS 180-4's vectors.
    func testReferenceDigestKnownAnswers() {
        var empty = SHA256Reference()
        empty.update([])
        XCTAssertEqual(empty.hex(), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        var abc = SHA256Reference()
        abc.update(Array("abc".utf8))
        XCTAssertEqual(abc.hex(), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        var long = SHA256Reference()
        long.update(Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8))
        XCTAssertEqual(long.hex(), "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
    }

    func testTokenIsSentWhenRequired() throws {
        hub.requiredToken = "secret"
        let refused = try download("octavo/tiny")
        XCTAssertEqual(refused.status, 1)
        XCTAssertTrue(refused.stderr.contains("token"), refused.stderr)
        XCTAssertEqual(try download("octavo/tiny", ["--token", "secret"]).status, 0)
        try FileManager.default.removeItem(at: destination)
        let fromEnvironment = try CLI.run(
            ["download", "octavo/tiny", "--dir", destination.path, "--endpoint", "http://127.0.0.1:\(hub.port)"],
            environment: ["HF_TOKEN": "secret"])
        XCTAssertEqual(fromEnvironment.status, 0, fromEnvironment.stderr)
    }
}

/// A straightforward SHA-256 for the fake hub, independent of the one under test.
struct SHA256Reference {
    private var message: [UInt8] = []
    mutating func update(_ bytes: [UInt8]) { message += bytes }
    func hex() -> String {
        var h: [UInt32] = [
            0x6a09_e667, 0xbb67_ae85, 0x3c6e_f372, 0xa54f_f53a, 0x510e_527f, 0x9b05_688c, 0x1f83_d9ab, 0x5be0_cd19,
        ]
        let k: [UInt32] = [
            0x428a_2f98, 0x7137_4491, 0xb5c0_fbcf, 0xe9b5_dba5, 0x3956_c25b, 0x59f1_11f1, 0x923f_82a4, 0xab1c_5ed5,
            0xd807_aa98, 0x1283_5b01, 0x2431_85be, 0x550c_7dc3,
            0x72be_5d74, 0x80de_b1fe, 0x9bdc_06a7, 0xc19b_f174, 0xe49b_69c1, 0xefbe_4786, 0x0fc1_9dc6, 0x240c_a1cc,
            0x2de9_2c6f, 0x4a74_84aa, 0x5cb0_a9dc, 0x76f9_88da,
            0x983e_5152, 0xa831_c66d, 0xb003_27c8, 0xbf59_7fc7, 0xc6e0_0bf3, 0xd5a7_9147, 0x06ca_6351, 0x1429_2967,
            0x27b7_0a85, 0x2e1b_2138, 0x4d2c_6dfc, 0x5338_0d13,
            0x650a_7354, 0x766a_0abb, 0x81c2_c92e, 0x9272_2c85, 0xa2bf_e8a1, 0xa81a_664b, 0xc24b_8b70, 0xc76c_51a3,
            0xd192_e819, 0xd699_0624, 0xf40e_3585, 0x106a_a070,
            0x19a4_c116, 0x1e37_6c08, 0x2748_774c, 0x34b0_bcb5, 0x391c_0cb3, 0x4ed8_aa4a, 0x5b9c_ca4f, 0x682e_6ff3,
            0x748f_82ee, 0x78a5_636f, 0x84c8_7814, 0x8cc7_0208,
            0x90be_fffa, 0xa450_6ceb, 0xbef9_a3f7, 0xc671_78f2,
        ]
        var m = message
        let bits = UInt64(message.count) * 8
        m.append(0x80)
        while m.count % 64 != 56 { m.append(0) }
        for i in (0..<8).reversed() { m.append(UInt8(truncatingIfNeeded: bits >> (UInt64(i) * 8))) }
        func r(_ x: UInt32, _ n: UInt32) -> UInt32 { (x >> n) | (x << (32 - n)) }
        for chunk in stride(from: 0, to: m.count, by: 64) {
            var w = (0..<16).map { i in (0..<4).reduce(UInt32(0)) { $0 << 8 | UInt32(m[chunk + 4 * i + $1]) } }
            for i in 16..<64 {
                w.append(
                    w[i - 16] &+ (r(w[i - 15], 7) ^ r(w[i - 15], 18) ^ (w[i - 15] >> 3)) &+ w[i - 7]
                        &+ (r(w[i - 2], 17) ^ r(w[i - 2], 19) ^ (w[i - 2] >> 10)))
            }
            var (a, b, c, d, e, f, g, hh) = (h[0], h[1], h[2], h[3], h[4], h[5], h[6], h[7])
            for i in 0..<64 {
                let t1 = hh &+ (r(e, 6) ^ r(e, 11) ^ r(e, 25)) &+ ((e & f) ^ (~e & g)) &+ k[i] &+ w[i]
                let t2 = (r(a, 2) ^ r(a, 13) ^ r(a, 22)) &+ ((a & b) ^ (a & c) ^ (b & c))
                (hh, g, f, e, d, c, b, a) = (g, f, e, d &+ t1, c, b, a, t1 &+ t2)
            }
            h = zip(h, [a, b, c, d, e, f, g, hh]).map { $0 &+ $1 }
        }
        return h.map { String(format: "%08x", $0) }.joined()
    }
}
