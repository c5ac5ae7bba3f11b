import Foundation
import XCTest

/// Models by hub id and catalog name through the Hugging Face cache, against FakeHub: the
/// cache layout huggingface_hub writes, first-use downloads, offline use, PyTorch-only
/// repositories, corrupted and interrupted transfers, `list`, `rm` and `models`.
final class HubCacheTests: XCTestCase {
    var hub: FakeHub!
    var scratch: URL!
    var cache: URL { scratch.appendingPathComponent("hub") }
    let tiny = CLI.fixtures.appendingPathComponent("GPT2/tiny")

    override func setUpWithError() throws {
        scratch = FileManager.default.temporaryDirectory.appendingPathComponent("hub-cache-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        hub = FakeHub()
        hub.add("octavo/tiny", folder: tiny)
        try hub.start()
    }

    override func tearDownWithError() throws {
        hub.stop()
        try? FileManager.default.removeItem(at: scratch)
    }

    /// Runs the CLI with a scratch cache and the fake hub, never the real home.
    func run(_ arguments: [String], _ environment: [String: String] = [:]) throws -> CLI.Result {
        var env = [
            "HF_HUB_CACHE": cache.path, "HF_ENDPOINT": hub.endpoint, "HF_HUB_OFFLINE": "0", "HF_TOKEN": "",
            "HF_TOKEN_PATH": scratch.appendingPathComponent("no-token").path,
        ]
        for (key, value) in environment { env[key] = value }
        return try CLI.run(arguments, environment: env)
    }

    func generateIDs(
        _ model: String, _ environment: [String: String] = [:], file: StaticString = #filePath, line: UInt = #line
    ) throws -> [Int]? {
        let result = try run(
            [
                "generate", "--model", model, "--prompt", "Once upon a time", "--greedy", "--max-new-tokens", "3",
                "--json",
            ],
            environment)
        XCTAssertEqual(result.status, 0, result.stderr, file: file, line: line)
        return try? result.json()["generated_ids"] as? [Int]
    }

    /// A folder to serve as a repository: the tiny GPT-2's config and tokenizer, plus `files`.
    func makeRepository(_ name: String, files: [String: [UInt8]], torchDtype: String? = nil) throws -> URL {
        let folder = scratch.appendingPathComponent("repos/\(name)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        for file in ["config.json", "tokenizer.json", "vocab.json", "merges.txt"] {
            try FileManager.default.copyItem(
                at: tiny.appendingPathComponent(file), to: folder.appendingPathComponent(file))
        }
        for (file, bytes) in files { try Data(bytes).write(to: folder.appendingPathComponent(file)) }
        if let torchDtype {
            let url = folder.appendingPathComponent("config.json")
            var config = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any])
            config["torch_dtype"] = torchDtype
            try JSONSerialization.data(withJSONObject: config).write(to: url)
        }
        return folder
    }

    func bytes(_ count: Int, seed: UInt8) -> [UInt8] {
        (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ Int(seed)) }
    }

    func contents(_ url: URL) -> [UInt8]? { FileManager.default.contents(atPath: url.path).map(Array.init) }

    // MARK: - First use

    func testFirstUsePullsIntoTheHuggingFaceCacheLayout() throws {
        let expected = try generateIDs(tiny.path)
        XCTAssertEqual(try generateIDs("octavo/tiny"), expected)

        let commit = FakeHub.commit(of: "octavo/tiny")
        let repo = cache.appendingPathComponent("models--octavo--tiny")
        XCTAssertEqual(contents(repo.appendingPathComponent("refs/main")), Array(commit.utf8), "the commit, no newline")
        let wanted = [
            "added_tokens.json", "config.json", "generation_config.json", "merges.txt", "model.safetensors",
            "special_tokens_map.json", "tokenizer.json", "tokenizer_config.json", "vocab.json",
        ]
        let snapshot = repo.appendingPathComponent("snapshots/\(commit)")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: snapshot.path).sorted(), wanted)
        var etags: [String] = []
        for file in wanted {
            let data = try XCTUnwrap(contents(tiny.appendingPathComponent(file)))
            let etag = FakeHub.etag(file: file, data: data)
            etags.append(etag)
            XCTAssertEqual(
                try FileManager.default.destinationOfSymbolicLink(atPath: snapshot.appendingPathComponent(file).path),
                "../../blobs/\(etag)", file)
            XCTAssertEqual(contents(repo.appendingPathComponent("blobs/\(etag)")), data, file)
            XCTAssertTrue(
                FileManager.default.fileExists(
                    atPath: cache.appendingPathComponent(".locks/models--octavo--tiny/\(etag).lock").path))
        }
        XCTAssertEqual(etags[1].count, 40, "small files (config.json) are named by their git etag")
        let weights = try XCTUnwrap(contents(tiny.appendingPathComponent("model.safetensors")))
        XCTAssertTrue(etags.contains(FakeHub.sha256Hex(weights)), "LFS files are named by their sha256")
        XCTAssertEqual(
            try FileManager.default.contentsOfDirectory(atPath: repo.appendingPathComponent("blobs").path).sorted(),
            etags.sorted(),
            "one blob per file, nothing .incomplete left")
        XCTAssertEqual(
            try FileManager.default.contentsOfDirectory(atPath: repo.path).sorted(), ["blobs", "refs", "snapshots"])

        // Used as is from now on: no request reaches the hub.
        let before = hub.requests.count
        XCTAssertEqual(try generateIDs("octavo/tiny"), expected)
        XCTAssertEqual(hub.requests.count, before)
    }

    func testDownloadDefaultsToTheCacheAndKeepsBranchRefs() throws {
        let commit = FakeHub.commit(of: "octavo/tiny")
        let result = try run(["download", "octavo/tiny", "--quiet"])
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertEqual(result.stderr, "", "--quiet prints nothing")
        let snapshot = cache.appendingPathComponent("models--octavo--tiny/snapshots/\(commit)")
        XCTAssertEqual(result.stdout.trimmingCharacters(in: .newlines), snapshot.path)
        // A commit hash is used as the snapshot folder directly, with no ref and no request.
        let before = hub.requests.count
        XCTAssertEqual(try generateIDs("octavo/tiny@\(commit)"), try generateIDs(tiny.path))
        XCTAssertEqual(hub.requests.count, before)
        XCTAssertEqual(
            try FileManager.default.contentsOfDirectory(
                atPath: cache.appendingPathComponent("models--octavo--tiny/refs").path), ["main"])
        // An unknown revision is the hub's RevisionNotFound.
        let missing = try run(["generate", "--model", "octavo/tiny@v9", "--prompt", "x"])
        XCTAssertEqual(missing.status, 1)
        XCTAssertTrue(missing.stderr.contains("revision v9 was not found"), missing.stderr)
    }

    func testTheCommitComesFromXRepoCommitWhenTheAPINamesNone() throws {
        hub.omitsAPICommit = true
        let result = try run(["download", "octavo/tiny"])
        XCTAssertEqual(result.status, 0, result.stderr)
        let commit = FakeHub.commit(of: "octavo/tiny")
        XCTAssertEqual(result.stdout, cache.path + "/models--octavo--tiny/snapshots/\(commit)\n")
        XCTAssertEqual(contents(cache.appendingPathComponent("models--octavo--tiny/refs/main")), Array(commit.utf8))
    }

    func testARenamedRepositoryIsFollowedThroughItsRelativeRedirect() throws {
        hub.rename("octavo/old-name", to: "octavo/tiny")
        let result = try run(["download", "octavo/old-name"])
        XCTAssertEqual(result.status, 0, result.stderr)
        let snapshot = cache.appendingPathComponent(
            "models--octavo--old-name/snapshots/\(FakeHub.commit(of: "octavo/tiny"))")
        XCTAssertEqual(result.stdout, snapshot.path + "\n")
        XCTAssertEqual(
            contents(snapshot.appendingPathComponent("model.safetensors")),
            contents(tiny.appendingPathComponent("model.safetensors")))
        XCTAssertTrue(hub.requests.contains { $0.hasPrefix("HEAD /octavo/old-name/resolve/") }, "\(hub.requests)")
    }

    func testAMissingTwoPartFolderIsReportedAsBoth() throws {
        let result = try run(["generate", "--model", "models/gpt2", "--prompt", "x"])
        XCTAssertEqual(result.status, 1)
        XCTAssertTrue(result.stderr.contains("repository models/gpt2 at revision main was not found"), result.stderr)
        XCTAssertTrue(result.stderr.contains("There is no folder named models/gpt2 here either."), result.stderr)
    }

    // MARK: - Offline

    func testCachedModelRunsOfflineWithTheHubGone() throws {
        XCTAssertEqual(try run(["download", "octavo/tiny"]).status, 0)
        hub.stop()
        let expected = try generateIDs(tiny.path)
        XCTAssertEqual(try generateIDs("octavo/tiny", ["HF_HUB_OFFLINE": "1"]), expected)
        XCTAssertEqual(
            try generateIDs("octavo/tiny", ["HF_ENDPOINT": "http://127.0.0.1:1"]), expected, "no network needed")
        let tokens = try run(["tokenize", "--model", "octavo/tiny", "--offline", "--text", "Hello world", "--json"])
        XCTAssertEqual(tokens.status, 0, tokens.stderr)
        let direct = try run(["tokenize", "--model", tiny.path, "--text", "Hello world", "--json"])
        XCTAssertEqual(tokens.stdout, direct.stdout)
        let inspect = try run(["inspect", "--model", "octavo/tiny", "--offline", "--json"])
        XCTAssertEqual(inspect.status, 0, inspect.stderr)
        let download = try run(["download", "octavo/tiny", "--offline"])
        XCTAssertEqual(download.status, 0, download.stderr)
        XCTAssertEqual(
            download.stdout, cache.path + "/models--octavo--tiny/snapshots/\(FakeHub.commit(of: "octavo/tiny"))\n")
    }

    func testOfflineSaysWhichCommandWouldFetchTheModel() throws {
        let result = try run(["generate", "--model", "octavo/tiny", "--prompt", "x"], ["HF_HUB_OFFLINE": "1"])
        XCTAssertEqual(result.status, 1)
        XCTAssertTrue(
            result.stderr.contains("octavo/tiny is not in the Hugging Face cache (\(cache.path))"), result.stderr)
        XCTAssertTrue(result.stderr.contains("HF_HUB_OFFLINE=1"), result.stderr)
        XCTAssertTrue(result.stderr.contains("'octavo-infer download octavo/tiny' would fetch it"), result.stderr)
        let byName = try run([
            "translate", "--model", "nllb-200-distilled-600M", "--offline", "--source", "eng_Latn", "--target",
            "fra_Latn",
            "--text", "Hello",
        ])
        XCTAssertEqual(byName.status, 1)
        XCTAssertTrue(
            byName.stderr.contains("nllb-200-distilled-600M (facebook/nllb-200-distilled-600M) is not in"),
            byName.stderr)
        XCTAssertTrue(byName.stderr.contains("'octavo-infer download nllb-200-distilled-600M'"), byName.stderr)
        // The malformed --listen is read after the models: should resolution ever pass, serve still stops.
        let served = try run(["serve", "--model", "story=octavo/tiny", "--offline", "--listen", "not-a-port"])
        XCTAssertEqual(served.status, 1)
        XCTAssertTrue(served.stderr.contains("would fetch it"), served.stderr)
        let download = try run(["download", "octavo/tiny"], ["HF_HUB_OFFLINE": "1"])
        XCTAssertEqual(download.status, 1)
        XCTAssertTrue(download.stderr.contains("would fetch it"), download.stderr)
        XCTAssertEqual(hub.requests, [], "offline means no request at all")
    }

    // MARK: - Which weights

    func testPyTorchOnlyRepositoryGetsTheBinFile() throws {
        let weights = bytes(70_000, seed: 1)
        hub.add(
            "octavo/bin-only",
            folder: try makeRepository("bin-only", files: ["pytorch_model.bin": weights, "tf_model.h5": [1, 2, 3]]))
        let result = try run(["download", "octavo/bin-only"])
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertTrue(
            result.stderr.contains(
                "weights: PyTorch .bin (the repository has no safetensors): "
                    + "pytorch_model.bin; skipping tf_model.h5"),
            result.stderr)
        let snapshot = URL(fileURLWithPath: result.stdout.trimmingCharacters(in: .newlines))
        XCTAssertEqual(
            try FileManager.default.contentsOfDirectory(atPath: snapshot.path).sorted(),
            ["config.json", "merges.txt", "pytorch_model.bin", "tokenizer.json", "vocab.json"])
        XCTAssertEqual(
            try FileManager.default.destinationOfSymbolicLink(
                atPath: snapshot.appendingPathComponent("pytorch_model.bin").path),
            "../../blobs/\(FakeHub.sha256Hex(weights))")
        XCTAssertEqual(contents(snapshot.appendingPathComponent("pytorch_model.bin")), weights)
    }

    /// A repository of `base`'s config and tokenizer with the `.bin` weights of Tests/Fixtures/Torch/`weights`.
    /// `tokenizerFrom` adds the tokenizer files of another fixture folder.
    func makeTorchRepository(base: String, weights: String, tokenizerFrom: String? = nil) throws -> URL {
        let folder = scratch.appendingPathComponent("repos/\(weights)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let baseURL = CLI.fixtures.appendingPathComponent(base)
        for name in try FileManager.default.contentsOfDirectory(atPath: baseURL.path)
        where !name.hasSuffix(".safetensors") {
            try FileManager.default.copyItem(
                at: baseURL.appendingPathComponent(name), to: folder.appendingPathComponent(name))
        }
        if let tokenizerFrom { try copyTokenizer(from: tokenizerFrom, to: folder) }
        let source = CLI.fixtures.appendingPathComponent("Torch/\(weights)")
        for name in try FileManager.default.contentsOfDirectory(atPath: source.path) {
            try FileManager.default.copyItem(
                at: source.appendingPathComponent(name), to: folder.appendingPathComponent(name))
        }
        return folder
    }

    func copyTokenizer(from fixture: String, to folder: URL) throws {
        for name in ["sentencepiece.bpe.model", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"] {
            try FileManager.default.copyItem(
                at: CLI.fixtures.appendingPathComponent("\(fixture)/\(name)"), to: folder.appendingPathComponent(name))
        }
    }

    /// What the hub gives for a PyTorch-only repository runs, with the ids of the same weights in safetensors.
    func testPyTorchCheckpointsFromTheHubRunLikeTheirSafetensors() throws {
        hub.add("octavo/gpt2-bin", folder: try makeTorchRepository(base: "GPT2/tiny-f16", weights: "gpt2-f16-zip"))
        hub.add(
            "octavo/nllb-bin",
            folder: try makeTorchRepository(
                base: "NLLB/tiny-f16-untied", weights: "nllb-f16-sharded",
                tokenizerFrom: "NLLB/tiny"))
        XCTAssertEqual(
            try generateIDs("octavo/gpt2-bin"),
            try generateIDs(CLI.fixtures.appendingPathComponent("GPT2/tiny-f16").path))
        func translate(_ model: String) throws -> [Int]? {
            let result = try run([
                "translate", "--model", model, "--source", "eng_Latn", "--target", "fra_Latn", "--text", "Hello world",
                "--json",
            ])
            XCTAssertEqual(result.status, 0, result.stderr)
            return try result.json()["output_ids"] as? [Int]
        }
        let reference = scratch.appendingPathComponent("nllb-safetensors")
        try FileManager.default.copyItem(at: CLI.fixtures.appendingPathComponent("NLLB/tiny-f16-untied"), to: reference)
        try copyTokenizer(from: "NLLB/tiny", to: reference)
        let expected = try translate(reference.path)
        XCTAssertNotNil(expected)
        XCTAssertEqual(try translate("octavo/nllb-bin"), expected)
        let listed = try XCTUnwrap(try run(["list", "--json"]).json()["models"] as? [[String: Any]])
        XCTAssertEqual(listed.compactMap { $0["weights"] as? String }, ["bin", "bin"])
    }

    func testShardedPyTorchRepositoryGetsTheIndexAndEveryShard() throws {
        let index =
            #"{"metadata": {"total_size": 8}, "weight_map": {"a": "pytorch_model-00001-of-00002.bin", "b": "pytorch_model-00002-of-00002.bin"}}"#
        hub.add(
            "octavo/bin-sharded",
            folder: try makeRepository(
                "bin-sharded",
                files: [
                    "pytorch_model.bin.index.json": Array(index.utf8),
                    "pytorch_model-00001-of-00002.bin": bytes(5000, seed: 2),
                    "pytorch_model-00002-of-00002.bin": bytes(3000, seed: 3),
                ]))
        let result = try run(["download", "octavo/bin-sharded"])
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertTrue(
            result.stderr.contains("PyTorch .bin (the repository has no safetensors): 3 files"), result.stderr)
        let snapshot = URL(fileURLWithPath: result.stdout.trimmingCharacters(in: .newlines))
        let got = Set(try FileManager.default.contentsOfDirectory(atPath: snapshot.path))
        XCTAssertTrue(
            got.isSuperset(of: [
                "pytorch_model.bin.index.json", "pytorch_model-00001-of-00002.bin", "pytorch_model-00002-of-00002.bin",
            ]))
        // A cache missing one shard is incomplete: offline use says so rather than loading half a model.
        try FileManager.default.removeItem(at: snapshot.appendingPathComponent("pytorch_model-00002-of-00002.bin"))
        let offline = try run(["inspect", "--model", "octavo/bin-sharded", "--offline"])
        XCTAssertEqual(offline.status, 1)
        XCTAssertTrue(offline.stderr.contains("is incomplete in the Hugging Face cache"), offline.stderr)
    }

    func testSafetensorsAreChosenOverBin() throws {
        var files = ["pytorch_model.bin": bytes(1000, seed: 4)]
        files["model.safetensors"] = contents(tiny.appendingPathComponent("model.safetensors"))
        hub.add("octavo/both", folder: try makeRepository("both", files: files))
        let result = try run(["download", "octavo/both"])
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertTrue(
            result.stderr.contains("weights: safetensors: model.safetensors; skipping pytorch_model.bin"), result.stderr
        )
        let snapshot = URL(fileURLWithPath: result.stdout.trimmingCharacters(in: .newlines))
        XCTAssertFalse(
            FileManager.default.fileExists(atPath: snapshot.appendingPathComponent("pytorch_model.bin").path))
        XCTAssertFalse(hub.requests.contains { $0.hasSuffix("/pytorch_model.bin") })
    }

    // MARK: - Damaged transfers

    func testCorruptedDownloadIsRejectedAndNothingIsLinked() throws {
        hub.corruptBodies = true
        let result = try run(["download", "octavo/tiny"])
        XCTAssertEqual(result.status, 1)
        XCTAssertTrue(result.stderr.contains("model.safetensors: SHA-256"), result.stderr)
        let repo = cache.appendingPathComponent("models--octavo--tiny")
        let blob = FakeHub.sha256Hex(try XCTUnwrap(contents(tiny.appendingPathComponent("model.safetensors"))))
        XCTAssertFalse(FileManager.default.fileExists(atPath: repo.appendingPathComponent("blobs/\(blob)").path))
        XCTAssertFalse(
            FileManager.default.fileExists(atPath: repo.appendingPathComponent("blobs/\(blob).incomplete").path))
        let snapshot = repo.appendingPathComponent("snapshots/\(FakeHub.commit(of: "octavo/tiny"))")
        XCTAssertNil(
            try? FileManager.default.destinationOfSymbolicLink(
                atPath: snapshot.appendingPathComponent("model.safetensors").path))
        XCTAssertFalse(FileManager.default.fileExists(atPath: repo.appendingPathComponent("refs/main").path))
        hub.corruptBodies = false
        XCTAssertEqual(try generateIDs("octavo/tiny"), try generateIDs(tiny.path))
    }

    func testInterruptedDownloadResumesWithARange() throws {
        let weights = try XCTUnwrap(contents(tiny.appendingPathComponent("model.safetensors")))
        hub.truncateNext("model.safetensors", at: 100_000)
        let first = try run(["download", "octavo/tiny"])
        XCTAssertEqual(first.status, 1)
        XCTAssertTrue(first.stderr.contains("received 100000 of \(weights.count) bytes; rerun"), first.stderr)
        let partial = cache.appendingPathComponent(
            "models--octavo--tiny/blobs/\(FakeHub.sha256Hex(weights)).incomplete")
        XCTAssertEqual(contents(partial), Array(weights.prefix(100_000)))

        let second = try run(["download", "octavo/tiny"])
        XCTAssertEqual(second.status, 0, second.stderr)
        XCTAssertEqual(hub.ranges, ["bytes=100000-"])
        XCTAssertTrue(second.stderr.contains("model.safetensors: resuming at 0.1 MB of 0.3 MB"), second.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: partial.path))
        let snapshot = URL(fileURLWithPath: second.stdout.trimmingCharacters(in: .newlines))
        XCTAssertEqual(contents(snapshot.appendingPathComponent("model.safetensors")), weights)
    }

    func testAPartialFileIsRestartedWhenTheRangeIsIgnoredAndKeptWhenWhole() throws {
        let weights = try XCTUnwrap(contents(tiny.appendingPathComponent("model.safetensors")))
        let blobs = cache.appendingPathComponent("models--octavo--tiny/blobs")
        let partial = blobs.appendingPathComponent("\(FakeHub.sha256Hex(weights)).incomplete")
        try FileManager.default.createDirectory(at: blobs, withIntermediateDirectories: true)
        // Garbage that a resume would keep: the whole file comes back instead, and checks out.
        try Data(repeating: 0xee, count: 50_000).write(to: partial)
        hub.ignoresRanges = true
        let restarted = try run(["download", "octavo/tiny"])
        XCTAssertEqual(restarted.status, 0, restarted.stderr)
        XCTAssertEqual(contents(blobs.appendingPathComponent(FakeHub.sha256Hex(weights))), weights)
        // A partial file that is already whole is checked and moved into place with no transfer.
        try FileManager.default.removeItem(at: cache)
        try FileManager.default.createDirectory(at: blobs, withIntermediateDirectories: true)
        try Data(weights).write(to: partial)
        let before = hub.requests.filter { $0.contains("/cdn/") }.count
        XCTAssertEqual(try run(["download", "octavo/tiny"]).status, 0)
        XCTAssertEqual(
            hub.requests.filter { $0.contains("/cdn/") }.count, before, "no CDN request for a whole partial file")
        XCTAssertEqual(contents(blobs.appendingPathComponent(FakeHub.sha256Hex(weights))), weights)
    }

    // MARK: - list, rm, models

    func testListDescribesCachedModelsAndRmRefusesAmbiguousNames() throws {
        hub.add("someone/tiny", folder: tiny)
        let weights = bytes(2000, seed: 5)
        hub.add(
            "octavo/bin-only",
            folder: try makeRepository("bin-only", files: ["pytorch_model.bin": weights], torchDtype: "float16"))
        for repo in ["octavo/tiny", "someone/tiny", "octavo/bin-only"] {
            XCTAssertEqual(try run(["download", repo]).status, 0)
        }

        let listed = try run(["list", "--json"])
        XCTAssertEqual(listed.status, 0, listed.stderr)
        let models = try XCTUnwrap(listed.json()["models"] as? [[String: Any]])
        XCTAssertEqual(
            models.compactMap { $0["repository"] as? String }, ["octavo/bin-only", "octavo/tiny", "someone/tiny"])
        let tinyRow = models[1]
        XCTAssertEqual(tinyRow["refs"] as? [String], ["main"])
        XCTAssertEqual(tinyRow["architecture"] as? String, "gpt2")
        XCTAssertEqual(tinyRow["dtype"] as? String, "f32")
        XCTAssertEqual(tinyRow["weights"] as? String, "safetensors")
        let files = try FileManager.default.contentsOfDirectory(atPath: tiny.path).filter { $0 != "trainer_state.json" }
        let size = try files.reduce(0) { $0 + (try Data(contentsOf: tiny.appendingPathComponent($1))).count }
        XCTAssertEqual(tinyRow["bytes"] as? Int, size)
        XCTAssertEqual(models[0]["weights"] as? String, "bin")
        XCTAssertEqual(models[0]["dtype"] as? String, "f16", "from config.json's torch_dtype")
        let text = try run(["list"])
        XCTAssertTrue(text.stdout.contains("octavo/tiny"), text.stdout)
        XCTAssertTrue(text.stdout.contains("NAME"), text.stdout)

        let ambiguous = try run(["rm", "tiny"])
        XCTAssertEqual(ambiguous.status, 1)
        XCTAssertTrue(
            ambiguous.stderr.contains("tiny is ambiguous: it names octavo/tiny, someone/tiny"), ambiguous.stderr)
        XCTAssertTrue(FileManager.default.fileExists(atPath: cache.appendingPathComponent("models--octavo--tiny").path))
        XCTAssertTrue(
            FileManager.default.fileExists(atPath: cache.appendingPathComponent("models--someone--tiny").path))

        let removed = try run(["rm", "octavo/tiny"])
        XCTAssertEqual(removed.status, 0, removed.stderr)
        XCTAssertFalse(
            FileManager.default.fileExists(atPath: cache.appendingPathComponent("models--octavo--tiny").path))
        XCTAssertFalse(
            FileManager.default.fileExists(atPath: cache.appendingPathComponent(".locks/models--octavo--tiny").path))
        XCTAssertEqual(try run(["rm", "tiny"]).status, 0, "unique now")
        XCTAssertEqual(try run(["rm", "tiny"]).status, 1, "nothing left")
        let rest = try XCTUnwrap(try run(["list", "--json"]).json()["models"] as? [[String: Any]])
        XCTAssertEqual(rest.compactMap { $0["repository"] as? String }, ["octavo/bin-only"])
    }

    /// A cache laid out by hand as huggingface-cli leaves it, for the catalog's gpt2.
    func writeCacheAsHuggingFaceCLIWould(repo: String) throws {
        let commit = String(repeating: "ab", count: 20)
        let folder = cache.appendingPathComponent("models--" + repo.replacingOccurrences(of: "/", with: "--"))
        let snapshot = folder.appendingPathComponent("snapshots/\(commit)")
        try FileManager.default.createDirectory(at: snapshot, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(
            at: folder.appendingPathComponent("blobs"), withIntermediateDirectories: true)
        try FileManager.default.createDirectory(
            at: folder.appendingPathComponent("refs"), withIntermediateDirectories: true)
        try Data(commit.utf8).write(to: folder.appendingPathComponent("refs/main"))
        for file in try FileManager.default.contentsOfDirectory(atPath: tiny.path) {
            let data = try XCTUnwrap(contents(tiny.appendingPathComponent(file)))
            let etag = FakeHub.etag(file: file, data: data)
            try Data(data).write(to: folder.appendingPathComponent("blobs/\(etag)"))
            try FileManager.default.createSymbolicLink(
                atPath: snapshot.appendingPathComponent(file).path, withDestinationPath: "../../blobs/\(etag)")
        }
    }

    func testModelsPrintsTheCatalogFromAnyDirectoryAndMarksWhatIsCached() throws {
        let elsewhere = scratch.appendingPathComponent("elsewhere")
        try FileManager.default.createDirectory(at: elsewhere, withIntermediateDirectories: true)
        func catalog() throws -> [[String: Any]] {
            let result = try CLI.run(
                ["models", "--json"], environment: ["HF_HUB_CACHE": cache.path], directory: elsewhere)
            XCTAssertEqual(result.status, 0, result.stderr)
            return try XCTUnwrap(result.json()["models"] as? [[String: Any]])
        }
        let entries = try catalog()
        XCTAssertEqual(
            Set(entries.compactMap { $0["name"] as? String }),
            [
                "gpt2", "distilgpt2", "gpt2-medium", "gpt2-large", "gpt2-xl",
                "nllb-200-distilled-600M", "nllb-200-distilled-1.3B", "nllb-200-1.3B", "nllb-200-3.3B",
            ])
        let gpt2 = try XCTUnwrap(entries.first { $0["name"] as? String == "gpt2" })
        XCTAssertEqual(gpt2["repository"] as? String, "openai-community/gpt2")
        XCTAssertEqual(gpt2["license"] as? String, "mit")
        XCTAssertEqual(gpt2["role"] as? String, "story-generator")
        XCTAssertEqual(gpt2["parameters"] as? Int, 124_439_808)
        let nllb = try XCTUnwrap(entries.first { $0["name"] as? String == "nllb-200-distilled-600M" })
        XCTAssertEqual(nllb["repository"] as? String, "facebook/nllb-200-distilled-600M")
        XCTAssertEqual(nllb["license"] as? String, "cc-by-nc-4.0")
        XCTAssertEqual(nllb["weights"] as? String, "bin")
        XCTAssertEqual(nllb["role"] as? String, "translator")
        XCTAssertTrue(entries.allSatisfy { $0["cached"] as? Bool == false && $0["revision"] as? String == "main" })

        // What huggingface-cli downloaded is marked, and the catalog name runs it, offline.
        try writeCacheAsHuggingFaceCLIWould(repo: "openai-community/gpt2")
        let marked = try catalog()
        XCTAssertEqual(marked.filter { $0["cached"] as? Bool == true }.compactMap { $0["name"] as? String }, ["gpt2"])
        XCTAssertEqual(try generateIDs("gpt2", ["HF_HUB_OFFLINE": "1"]), try generateIDs(tiny.path))
        let text = try CLI.run(["models"], environment: ["HF_HUB_CACHE": cache.path], directory: elsewhere)
        XCTAssertTrue(
            text.stdout.split(separator: "\n").contains { $0.hasPrefix("*") && $0.contains(" gpt2 ") }, text.stdout)
        let listed = try XCTUnwrap(try run(["list", "--json"]).json()["models"] as? [[String: Any]])
        XCTAssertEqual(listed.first?["catalog_name"] as? String, "gpt2")
    }

    func testCacheLocationFollowsHuggingFaceEnvironment() throws {
        try writeCacheAsHuggingFaceCLIWould(repo: "octavo/tiny")
        // HF_HOME/hub when HF_HUB_CACHE is unset.
        let result = try CLI.run(["list", "--json"], environment: ["HF_HOME": scratch.path, "HF_HUB_CACHE": ""])
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertEqual(try result.json()["cache"] as? String, cache.path)
        XCTAssertEqual((try result.json()["models"] as? [[String: Any]])?.count, 1)
    }
}
