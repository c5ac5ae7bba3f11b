import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// A client for the Hugging Face hub's HTTP API (or anything that speaks it: a
/// mirror via `HF_ENDPOINT`, or the local server the tests run).
///
///     GET  {endpoint}/api/models/{repo}/revision/{revision}   -> {"siblings": [{"rfilename": ...}]}
///     HEAD {endpoint}/{repo}/resolve/{revision}/{file}         -> size and, for LFS files, X-Linked-Etag (sha256)
///     GET  {endpoint}/{repo}/resolve/{revision}/{file}         -> the bytes (often a redirect to a CDN); Range resumes
struct HubClient {
    let endpoint: URL
    let token: String?
    let timeout: TimeInterval

    struct RemoteFile {
        /// Bytes, when the server said.
        let size: Int64?
        /// Lowercase hex SHA-256 of the content, when the server published one (LFS files).
        let sha256: String?
    }

    /// Files of a repository at a revision.
    func listFiles(repo: String, revision: String) throws -> [String] {
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
        return siblings.compactMap { $0["rfilename"] as? String }
    }

    /// Size and digest of a file, from the first response before any redirect.
    func metadata(repo: String, revision: String, file: String) throws -> RemoteFile {
        let url = fileURL(repo: repo, revision: revision, file: file)
        let (_, response) = try HTTPTransfer.fetch(request(url, method: "HEAD"), timeout: timeout, followRedirects: false)
        guard (200..<400).contains(response.statusCode) else {
            if response.statusCode == 404 { throw HubError.fileNotFound(repo: repo, file: file) }
            if response.statusCode == 401 || response.statusCode == 403 { throw HubError.unauthorized(repo: repo) }
            throw HubError.httpStatus(url: url.absoluteString, status: response.statusCode)
        }
        let header = { (name: String) in response.value(forHTTPHeaderField: name) }
        let size = (header("X-Linked-Size") ?? (response.statusCode == 200 ? header("Content-Length") : nil)).flatMap { Int64($0) }
        var digest = header("X-Linked-Etag")?.trimmingCharacters(in: CharacterSet(charactersIn: "\"W/"))
        if let d = digest, d.count != 64 || !d.allSatisfy(\.isHexDigit) { digest = nil }
        return RemoteFile(size: size, sha256: digest?.lowercased())
    }

    /// Downloads `file` to `destination`, resuming `destination.part` when it exists,
    /// checking size and digest, and renaming into place only when complete.
    func download(repo: String, revision: String, file: String, to destination: URL, expected: RemoteFile,
                  progress: @escaping (Int64, Int64?) -> Void) throws {
        let partial = destination.appendingPathExtension("part")
        let url = fileURL(repo: repo, revision: revision, file: file)
        var existing: Int64 = 0
        if let attributes = try? FileManager.default.attributesOfItem(atPath: partial.path), let size = attributes[.size] as? Int64 {
            existing = size
        }
        if let size = expected.size, existing > size { existing = 0 }
        var request = request(url, method: "GET")
        if existing > 0 { request.setValue("bytes=\(existing)-", forHTTPHeaderField: "Range") }
        let result = try HTTPTransfer.download(request, to: partial, resumingAt: existing, timeout: timeout, progress: progress)
        guard result.status == 200 || result.status == 206 else {
            if result.status == 404 { throw HubError.fileNotFound(repo: repo, file: file) }
            if result.status == 401 || result.status == 403 { throw HubError.unauthorized(repo: repo) }
            throw HubError.httpStatus(url: url.absoluteString, status: result.status)
        }
        let attributes = try FileManager.default.attributesOfItem(atPath: partial.path)
        let size = (attributes[.size] as? Int64) ?? 0
        if let expectedSize = expected.size, size != expectedSize {
            throw HubError.incomplete(file: file, received: size, expected: expectedSize)
        }
        if let digest = expected.sha256 {
            let actual = try sha256(of: partial)
            guard actual == digest else {
                try? FileManager.default.removeItem(at: partial)
                throw HubError.checksumMismatch(file: file, expected: digest, actual: actual)
            }
        }
        try? FileManager.default.removeItem(at: destination)
        try FileManager.default.moveItem(at: partial, to: destination)
    }

    func fileURL(repo: String, revision: String, file: String) -> URL {
        endpoint.appendingPathComponent(repo).appendingPathComponent("resolve").appendingPathComponent(revision).appendingPathComponent(file)
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
    let handle = try FileHandle(forReadingFrom: url)
    defer { try? handle.close() }
    var hasher = SHA256()
    while let chunk = try handle.read(upToCount: 4 << 20), !chunk.isEmpty {
        hasher.update([UInt8](chunk))
    }
    return hasher.finalizeHex()
}
