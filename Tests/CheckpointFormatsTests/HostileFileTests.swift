import CheckpointFormats
import Foundation
import XCTest

/// Each hostile fixture is refused with its own typed error, and nothing in it runs.
/// (hostile/verdicts.json records what torch.load(weights_only=True) says of the same files.)
final class HostileFileTests: XCTestCase {
    private let marker = "/tmp/octavo-torch-fixture-was-executed"

    override func tearDown() {
        XCTAssertFalse(FileManager.default.fileExists(atPath: marker), "a hostile fixture was executed")
    }

    func testOsSystemIsRefusedByName() {
        assertFormatError(try TorchFixtures.read("hostile/os-system.bin")) {
            if case .forbiddenGlobal(let path, "os.system") = $0 { return path.hasSuffix("os-system.bin") }
            return false
        }
    }

    func testBuiltinsEvalIsRefusedInTheLegacyFormat() {
        assertFormatError(try TorchFixtures.read("hostile/builtins-eval.bin")) {
            if case .forbiddenGlobal(_, "builtins.eval") = $0 { return true } else { return false }
        }
    }

    func testUnknownGlobalIsRefused() {
        assertFormatError(try TorchFixtures.read("hostile/unknown-global.bin")) {
            if case .forbiddenGlobal(_, "torch.nn.modules.linear.Linear") = $0 { return true } else { return false }
        }
    }

    func testUnknownOpcodeIsRefused() {
        assertFormatError(try TorchFixtures.read("hostile/unknown-opcode.bin")) {
            if case .unknownOpcode(_, 0x69, 3) = $0 { return true } else { return false }
        }
    }

    func testNestingBombHitsTheLimit() {
        assertFormatError(try TorchFixtures.read("hostile/nesting-bomb.bin")) {
            // Its DUP is refused before the depth grows, as torch's loader refuses DUP; the depth
            // limit itself is PickleMachineTests' concern.
            if case .unknownOpcode(_, 0x32, _) = $0 { return true }
            if case .limitExceeded(_, "nesting depth", _) = $0 { return true } else { return false }
        }
    }

    func testTruncatedZip() {
        assertFormatError(try TorchFixtures.read("hostile/truncated.bin")) {
            if case .truncated = $0 { return true } else { return false }
        }
    }

    func testZipEntryWhoseSizeLies() {
        assertFormatError(try TorchFixtures.read("hostile/lying-size.bin")) {
            if case .entryOutOfBounds(_, let entry, _) = $0 { return entry.hasSuffix("/data/0") } else { return false }
        }
    }

    func testLegacyStorageCutShort() {
        assertFormatError(try TorchFixtures.read("hostile/short-storage-legacy.bin")) {
            if case .storageOutOfBounds = $0 { return true } else { return false }
        }
    }

    func testWrongMagicNumber() {
        assertFormatError(try TorchFixtures.read("hostile/wrong-magic.bin")) {
            if case .wrongMagicNumber = $0 { return true } else { return false }
        }
    }

    func testTorchRefusedEveryHostileFileToo() throws {
        let verdicts =
            try JSONSerialization.jsonObject(
                with: Data(contentsOf: TorchFixtures.url("hostile/verdicts.json"))) as? [String: String]
        let files = try FileManager.default.contentsOfDirectory(atPath: TorchFixtures.url("hostile").path).filter {
            $0.hasSuffix(".bin")
        }
        XCTAssertEqual(Set(verdicts?.keys.map { $0 } ?? []), Set(files))
        for (file, verdict) in verdicts ?? [:] { XCTAssertNotEqual(verdict, "loaded", file) }
    }
}
