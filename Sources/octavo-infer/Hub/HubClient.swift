import Foundation

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// A client for the Hugging Face hub's HTTP API (or anything that speaks it: a
/// mirror via `HF_ENDPOINT`, or the local server the tests run).
///
///     GET  {endpoint}/api/models/{repo}/revision/{revision}   -> {"sha": commit, "siblings": [{"rfilename": ...}]}
///     HEAD {endpoint}/{repo}/resolve/{revision}/{file}         -> ETag (git sha1) or, for LFS files, a 302 to a CDN
///                                                                 with X-Linked-Etag (sha256) and X-Linked-Size;
///                                                                 X-Repo-Commit either way
///     GET  {endpoint}/{repo}/resolve/{revision}/{file}         -> the bytes (often a redirect to a CDN); Range resumes
struct HubClient {
    let endpoint: URL
    let token: String?
    let timeout: TimeInterval

    struct RepositoryInfo {
        /// The commit the revision points at, when the server said.
        let commit: String?
        let files: [String]
    }

    struct RemoteFile {
        /// Bytes, when the server said.
        let size: Int64?
        /// Lowercase hex SHA-256 of the content, when the server published one (LFS files).
        let sha256: String?
        /// The name of the file's blob in the cache: the sha256 for LFS files, git's blob sha1 otherwise.
        let etag: String?
        /// The commit the file was served from (X-Repo-Commit).
        let commit: String?
    }

    /// The commit and the files of a repository at a revision.
    func repositoryInfo(repo: String, revision: String) throws -> RepositoryInfo {
        let url = endpoint.appendingPathComponent("api/models/\(repo)/revision/\(revision)")
        let (data, response) = try HTTPTransfer.fetch(request(url, method: "GET"), timeout: timeout)
        switch response.statusCode {
        case 200: break
        case 401, 403: throw HubError.unauthorized(repo: repo)
        case 404: throw HubError.repositoryNotFound(repo: repo, revision: revision)
        default: throw HubError.httpStatus(url: url.absoluteString, status: response.statusCode)
        }
        guard let object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any],
            let siblings = object["siblings"] as? [[String: Any]]
        else { throw HubError.malformedResponse(url: url.absoluteString, reason: "no siblings list") }
        let commit = (object["sha"] as? String).flatMap { HubCache.isCommitHash($0) ? $0 : nil }
        return RepositoryInfo(commit: commit, files: siblings.compactMap { $0["rfilename"] as? String })
    }

    /// Size, digest, etag and commit of a file, from the first response before any redirect
    /// to another host (a relative redirect is a renamed repository, and is followed).
    func metadata(repo: String, revision: String, file: String) throws -> RemoteFile {
        var url = fileURL(repo: repo, revision: revision, file: file)
        var response: HTTPURLResponse
        var redirects = 0
        while true {
            (_, response) = try HTTPTransfer.fetch(
                request(url, method: "HEAD"), timeout: timeout, followRedirects: false)
            guard (300..<400).contains(response.statusCode), redirects < 5,
                let location = response.value(forHTTPHeaderField: "Location"),
                let next = URL(string: location, relativeTo: url), URL(string: location)?.host == nil
            else { break }
            url = next.absoluteURL
            redirects += 1
        }
        guard (200..<400).contains(response.statusCode) else {
            throw error(
                status: response.statusCode, url: url, repo: repo, revision: revision, file: file,
                code: response.value(forHTTPHeaderField: "X-Error-Code"))
        }
        let header = { (name: String) in response.value(forHTTPHeaderField: name) }
        let size = (header("X-Linked-Size") ?? (response.statusCode == 200 ? header("Content-Length") : nil)).flatMap {
            Int64($0)
        }
        let etag = (header("X-Linked-Etag") ?? header("ETag")).map(Self.normalizeEtag)
        var digest = header("X-Linked-Etag").map(Self.normalizeEtag)
        if let d = digest, d.count != 64 || !d.allSatisfy(\.isHexDigit) { digest = nil }
        let commit = header("X-Repo-Commit").flatMap { HubCache.isCommitHash($0) ? $0 : nil }
        return RemoteFile(
            size: size, sha256: digest?.lowercased(), etag: etag.flatMap { HubCache.isSafeBlobName($0) ? $0 : nil },
            commit: commit)
    }

    /// `W/"abc"` -> `abc`, as huggingface_hub names blobs.
    static func normalizeEtag(_ etag: String) -> String {
        var text = etag.trimmingCharacters(in: .whitespaces)
        if text.hasPrefix("W/") { text.removeFirst(2) }
        return text.trimmingCharacters(in: CharacterSet(charactersIn: "\""))
    }

    /// Downloads `file` to `destination` through `partial`, resuming `partial` when it exists,
    /// checking size and digest, and renaming into place only when complete.
    func download(
        repo: String, revision: String, file: String, to destination: URL, partial: URL? = nil,
        expected: RemoteFile, progress: DownloadProgress
    ) throws {
        let partial = partial ?? destination.appendingPathExtension("part")
        let url = fileURL(repo: repo, revision: revision, file: file)
        var existing: Int64 = 0
        if let attributes = try? FileManager.default.attributesOfItem(atPath: partial.path),
            let size = attributes[.size] as? Int64
        {
            existing = size
        }
        if let size = expected.size, existing > size { existing = 0 }
        var request = request(url, method: "GET")
        if existing > 0 { request.setValue("bytes=\(existing)-", forHTTPHeaderField: "Range") }
        // The digest is computed as the bytes arrive (after the part already on disk), so a
        // large file is not read a second time to check it.
        var hasher = SHA256()
        if expected.sha256 != nil && existing > 0 { try hashPrefix(of: partial, count: existing, into: &hasher) }
        // A partial file that is already whole (cut off just before the rename) needs no request:
        // asking for the bytes after its end would be a 416.
        if existing == 0 || existing != expected.size {
            progress.begin(file: file, resumingAt: existing, total: expected.size)
            let result = try HTTPTransfer.download(
                request, to: partial, resumingAt: existing, timeout: timeout,
                received: { if expected.sha256 != nil { hasher.update($0) } },
                restarted: { hasher = SHA256() }
            ) { done, total in
                progress.update(done: done, total: total ?? expected.size)
            }
            progress.finish()
            guard result.status == 200 || result.status == 206 else {
                throw error(status: result.status, url: url, repo: repo, revision: revision, file: file, code: nil)
            }
        }
        let attributes = try FileManager.default.attributesOfItem(atPath: partial.path)
        let size = (attributes[.size] as? Int64) ?? 0
        if let expectedSize = expected.size, size != expectedSize {
            throw HubError.incomplete(file: file, received: size, expected: expectedSize)
        }
        if let digest = expected.sha256 {
            let actual = hasher.finalizeHex()
            guard actual == digest else {
                try? FileManager.default.removeItem(at: partial)
                throw HubError.checksumMismatch(file: file, expected: digest, actual: actual)
            }
        }
        try? FileManager.default.removeItem(at: destination)
        try FileManager.default.moveItem(at: partial, to: destination)
    }

    func fileURL(repo: String, revision: String, file: String) -> URL {
        endpoint.appendingPathComponent(repo).appendingPathComponent("resolve").appendingPathComponent(revision)
            .appendingPathComponent(file)
    }

    private func error(status: Int, url: URL, repo: String, revision: String, file: String, code: String?) -> HubError {
        switch (status, code) {
        case (401, _), (403, _): return .unauthorized(repo: repo)
        case (404, "RepoNotFound"), (404, "RevisionNotFound"):
            return .repositoryNotFound(repo: repo, revision: revision)
        case (404, _): return .fileNotFound(repo: repo, file: file)
        default: return .httpStatus(url: url.absoluteString, status: status)
        }
    }

    private func request(_ url: URL, method: String) -> URLRequest {
        var request = URLRequest(url: url, timeoutInterval: timeout)
        request.httpMethod = method
        request.setValue("octavo-infer", forHTTPHeaderField: "User-Agent")
        if let token { request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization") }
        return request
    }
}

/// SHA-256 of a file, read in 4 MiB pieces.
func sha256(of url: URL) throws -> String {
    var hasher = SHA256()
    try hashPrefix(of: url, count: .max, into: &hasher)
    return hasher.finalizeHex()
}

/// Feeds the first `count` bytes of a file (all of it, if shorter) to `hasher`.
func hashPrefix(of url: URL, count: Int64, into hasher: inout SHA256) throws {
    let handle = try FileHandle(forReadingFrom: url)
    defer { try? handle.close() }
    var remaining = count
    while remaining > 0, let chunk = try handle.read(upToCount: Int(min(remaining, 4 << 20))), !chunk.isEmpty {
        hasher.update(chunk)
        remaining -= Int64(chunk.count)
    }
}
