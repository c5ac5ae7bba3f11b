import Foundation

/// The Hugging Face hub cache, in huggingface_hub's layout, so that what huggingface-cli or
/// transformers downloaded is used as is and what octavo-infer downloads is there for them:
///
///     models--owner--name/refs/<revision>           the commit, one line, no newline
///     models--owner--name/blobs/<etag>              one file per content (sha256 for LFS files, git sha1 otherwise)
///     models--owner--name/snapshots/<commit>/<file> relative symlinks to ../../blobs/<etag>
///     .locks/models--owner--name/<etag>.lock
struct HubCache {
    let root: URL

    /// `$HF_HUB_CACHE`, else `$HF_HOME/hub`, else `$XDG_CACHE_HOME/huggingface/hub`, else
    /// `~/.cache/huggingface/hub`, as huggingface_hub decides.
    static func location(environment: [String: String]) -> URL {
        if let cache = nonEmpty(environment["HF_HUB_CACHE"]) {
            return URL(fileURLWithPath: expandingTilde(cache), isDirectory: true)
        }
        return huggingFaceHome(environment: environment).appendingPathComponent("hub", isDirectory: true)
    }

    /// `$HF_HOME`, else `$XDG_CACHE_HOME/huggingface`, else `~/.cache/huggingface` (where the token file lives too).
    static func huggingFaceHome(environment: [String: String]) -> URL {
        if let home = nonEmpty(environment["HF_HOME"]) {
            return URL(fileURLWithPath: expandingTilde(home), isDirectory: true)
        }
        let xdg = nonEmpty(environment["XDG_CACHE_HOME"]).map(expandingTilde) ?? expandingTilde("~/.cache")
        return URL(fileURLWithPath: xdg, isDirectory: true).appendingPathComponent("huggingface", isDirectory: true)
    }

    static func isCommitHash(_ text: String) -> Bool {
        text.count == 40 && text.allSatisfy { $0.isHexDigit && !$0.isUppercase }
    }

    /// A blob name from a server is used as a file name: no separators, no dot-dot, bounded.
    static func isSafeBlobName(_ text: String) -> Bool {
        !text.isEmpty && text.count <= 128 && text.allSatisfy { $0.isLetter || $0.isNumber || "-_".contains($0) }
    }

    static func folderName(repo: String) -> String { "models--" + repo.replacingOccurrences(of: "/", with: "--") }

    /// `models--owner--name` -> `owner/name`, as huggingface_hub's scan-cache reads it.
    static func repository(folderName: String) -> String? {
        guard folderName.hasPrefix("models--") else { return nil }
        let parts = folderName.dropFirst("models--".count).components(separatedBy: "--")
        return parts.contains(where: \.isEmpty) ? nil : parts.joined(separator: "/")
    }

    func repositoryFolder(_ repo: String) -> URL {
        root.appendingPathComponent(Self.folderName(repo: repo), isDirectory: true)
    }
    func blob(_ repo: String, etag: String) -> URL { repositoryFolder(repo).appendingPathComponent("blobs/\(etag)") }
    func lockFile(_ repo: String, etag: String) -> URL {
        root.appendingPathComponent(".locks/\(Self.folderName(repo: repo))/\(etag).lock")
    }

    func snapshotFolder(_ repo: String, commit: String) -> URL {
        repositoryFolder(repo).appendingPathComponent("snapshots/\(commit)", isDirectory: true)
    }

    /// The commit a revision names in the cache: a commit hash as is, a branch or tag through `refs/`.
    func commit(_ repo: String, revision: String) -> String? {
        if Self.isCommitHash(revision) { return revision }
        let ref = repositoryFolder(repo).appendingPathComponent("refs/\(revision)")
        guard let data = FileManager.default.contents(atPath: ref.path) else { return nil }
        let commit = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        return Self.isCommitHash(commit) ? commit : nil
    }

    /// The snapshot folder a revision names, when it is in the cache.
    func snapshot(_ repo: String, revision: String) -> URL? {
        guard let commit = commit(repo, revision: revision) else { return nil }
        let folder = snapshotFolder(repo, commit: commit)
        return FileManager.default.fileExists(atPath: folder.path) ? folder : nil
    }

    /// Records that a branch or tag points at `commit` (a commit hash needs no ref).
    func writeRef(_ repo: String, revision: String, commit: String) throws {
        guard revision != commit else { return }
        let ref = repositoryFolder(repo).appendingPathComponent("refs/\(revision)")
        try FileManager.default.createDirectory(at: ref.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data(commit.utf8).write(to: ref, options: .atomic)
    }

    /// Puts `snapshots/<commit>/<file>` in place as a relative symlink to its blob.
    func link(_ repo: String, commit: String, file: String, etag: String) throws {
        let pointer = snapshotFolder(repo, commit: commit).appendingPathComponent(file)
        let folder = pointer.deletingLastPathComponent()
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        // From snapshots/<commit>/[dirs/]<file> up to the repository folder, then into blobs/.
        let depth = 2 + file.split(separator: "/").count - 1
        let target = String(repeating: "../", count: depth) + "blobs/\(etag)"
        try? FileManager.default.removeItem(at: pointer)
        try FileManager.default.createSymbolicLink(atPath: pointer.path, withDestinationPath: target)
    }

    /// Repositories in the cache, by id.
    func repositories() -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: root.path)) ?? []
        return names.compactMap(Self.repository(folderName:)).sorted()
    }

    /// Each snapshot of a repository with the refs that point at it.
    func snapshots(_ repo: String) -> [(commit: String, refs: [String])] {
        let folder = repositoryFolder(repo)
        let commits =
            ((try? FileManager.default.contentsOfDirectory(atPath: folder.appendingPathComponent("snapshots").path))
            ?? [])
            .filter(Self.isCommitHash).sorted()
        let refsFolder = folder.appendingPathComponent("refs")
        var refs: [String: [String]] = [:]
        if let walker = FileManager.default.enumerator(atPath: refsFolder.path) {
            while let name = walker.nextObject() as? String {
                if let commit = commit(repo, revision: name) { refs[commit, default: []].append(name) }
            }
        }
        return commits.map { ($0, (refs[$0] ?? []).sorted()) }
    }

    /// Deletes a repository and its locks.
    func remove(_ repo: String) throws {
        try FileManager.default.removeItem(at: repositoryFolder(repo))
        try? FileManager.default.removeItem(at: root.appendingPathComponent(".locks/\(Self.folderName(repo: repo))"))
    }

    /// Holds an exclusive lock on `.locks/.../<etag>.lock` while `body` runs, so that two
    /// processes (or huggingface_hub, which locks the same file) never write one blob at once.
    func withLock<T>(_ repo: String, etag: String, _ body: () throws -> T) throws -> T {
        let url = lockFile(repo, etag: etag)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        let descriptor = open(url.path, O_RDWR | O_CREAT, 0o644)
        guard descriptor >= 0 else {
            throw HubError.cache(path: url.path, reason: "cannot open the lock file (errno \(errno))")
        }
        defer { close(descriptor) }
        guard flock(descriptor, LOCK_EX) == 0 else {
            throw HubError.cache(path: url.path, reason: "cannot lock (errno \(errno))")
        }
        defer { flock(descriptor, LOCK_UN) }
        return try body()
    }

    private static func nonEmpty(_ text: String?) -> String? { text.flatMap { $0.isEmpty ? nil : $0 } }

    private static func expandingTilde(_ path: String) -> String { (path as NSString).expandingTildeInPath }
}
