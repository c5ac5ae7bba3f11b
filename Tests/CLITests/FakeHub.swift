import Foundation
import InferenceServer

@testable import HTTPServer

/// A local server with the Hugging Face hub's routes and headers (as /work/shared/HUB.md
/// observed them against huggingface_hub), serving folders as repositories:
///
///     GET  /api/models/{owner}/{name}/revision/{rev}  {"sha": commit, "siblings": [{"rfilename": ...}]}
///     HEAD|GET /{owner}/{name}/resolve/{rev}/{file}   small files: 200, ETag, X-Repo-Commit;
///                                                     LFS files (.safetensors, .bin, .model): 302 to an
///                                                     absolute CDN URL with X-Linked-Etag (sha256),
///                                                     X-Linked-Size, X-Repo-Commit
///     GET  /cdn/{owner}/{name}/{file}                 the bytes; Range: bytes=N- gives 206
///
/// Missing things are 404 with X-Error-Code RepoNotFound / RevisionNotFound / EntryNotFound.
/// Small files' ETags stand in for git's blob sha1 (40 hex digits derived from the content):
/// clients treat them as opaque blob names.
final class FakeHub: @unchecked Sendable {
    let server = HTTPServer()
    private(set) var port = 0
    private let lock = NSLock()
    private var _repositories: [String: URL] = [:]
    private var _requests: [String] = []
    private var _ranges: [String] = []
    private var _truncate: [String: Int] = [:]
    var requiredToken: String?
    /// Publishes a wrong digest for every LFS file.
    var wrongDigests = false
    /// Serves LFS files with one byte changed (and the right digest).
    var corruptBodies = false
    /// Answers every CDN request with the whole file (200), as a server that ignores Range does.
    var ignoresRanges = false
    /// Leaves "sha" out of the API's answer, so clients must take the commit from X-Repo-Commit.
    var omitsAPICommit = false

    var endpoint: String { "http://127.0.0.1:\(port)" }
    /// Method and path of every request, in order.
    var requests: [String] {
        lock.lock()
        defer { lock.unlock() }
        return _requests
    }
    /// Range headers the CDN honoured.
    var ranges: [String] {
        lock.lock()
        defer { lock.unlock() }
        return _ranges
    }

    private var _renamed: [String: String] = [:]

    func add(_ repo: String, folder: URL) {
        lock.lock()
        _repositories[repo] = folder
        lock.unlock()
    }

    /// `old` was renamed to `new`: its URLs answer 307 with a relative Location, as the hub does.
    func rename(_ old: String, to new: String) {
        lock.lock()
        _renamed[old] = new
        lock.unlock()
    }

    /// The next CDN answer for `file` sends only its first `bytes` bytes, as a cut connection would.
    func truncateNext(_ file: String, at bytes: Int) {
        lock.lock()
        _truncate[file] = bytes
        lock.unlock()
    }

    /// The commit a repository's main branch points at.
    static func commit(of repo: String) -> String { String(sha256Hex(Array("commit of \(repo)".utf8)).prefix(40)) }

    static func isLFS(_ file: String) -> Bool { [".safetensors", ".bin", ".model"].contains { file.hasSuffix($0) } }

    /// The blob name the hub gives a file: its sha256 for LFS files, the git-sha1 stand-in otherwise.
    static func etag(file: String, data: [UInt8]) -> String {
        isLFS(file) ? sha256Hex(data) : String(sha256Hex(Array("blob \(data.count)\0".utf8) + data).prefix(40))
    }

    static func sha256Hex(_ bytes: [UInt8]) -> String {
        var hasher = SHA256Reference()
        hasher.update(bytes)
        return hasher.hex()
    }

    func start() throws {
        let router = Router()
        router.get("/api/models/{owner}/{name}/revision/{revision}") { [self] request, _ in
            try record(request)
            let repo = "\(request.parameter("owner")!)/\(request.parameter("name")!)"
            if let new = renamed(repo) {
                return moved(request.path.replacingOccurrences(of: "/\(repo)/", with: "/\(new)/"))
            }
            guard let folder = folder(repo) else { return notFound("RepoNotFound") }
            guard knows(repo, revision: request.parameter("revision")!) else { return notFound("RevisionNotFound") }
            let names = try FileManager.default.contentsOfDirectory(atPath: folder.path).sorted()
            struct Sibling: Encodable { let rfilename: String }
            struct Info: Encodable {
                let id: String
                let sha: String?
                let siblings: [Sibling]
            }
            return try .json(
                Info(id: repo, sha: omitsAPICommit ? nil : Self.commit(of: repo), siblings: names.map(Sibling.init)))
        }
        router.get("/{owner}/{name}/resolve/{revision}/{file}") { [self] request, _ in
            try record(request)
            let repo = "\(request.parameter("owner")!)/\(request.parameter("name")!)"
            let file = request.parameter("file")!
            if let new = renamed(repo) {
                return moved(request.path.replacingOccurrences(of: "/\(repo)/", with: "/\(new)/"))
            }
            guard let folder = folder(repo) else { return notFound("RepoNotFound") }
            guard knows(repo, revision: request.parameter("revision")!) else { return notFound("RevisionNotFound") }
            guard let data = FileManager.default.contents(atPath: folder.appendingPathComponent(file).path) else {
                return notFound("EntryNotFound")
            }
            let bytes = Array(data)
            var headers: HTTPHeaders = ["X-Repo-Commit": Self.commit(of: repo)]
            if Self.isLFS(file) {
                headers.set("Location", "\(endpoint)/cdn/\(repo)/\(file)")
                headers.set(
                    "X-Linked-Etag",
                    "\"\(wrongDigests ? String(repeating: "0", count: 64) : Self.etag(file: file, data: bytes))\"")
                headers.set("X-Linked-Size", "\(bytes.count)")
                return HTTPResponse(status: HTTPStatus(code: 302), headers: headers)
            }
            headers.set("ETag", "\"\(Self.etag(file: file, data: bytes))\"")
            headers.set("Content-Type", "application/octet-stream")
            return HTTPResponse(status: .ok, headers: headers, body: .bytes(bytes))
        }
        router.get("/cdn/{owner}/{name}/{file}") { [self] request, _ in
            try record(request)
            let repo = "\(request.parameter("owner")!)/\(request.parameter("name")!)"
            let file = request.parameter("file")!
            guard let folder = folder(repo),
                let data = FileManager.default.contents(atPath: folder.appendingPathComponent(file).path)
            else {
                return .text("not found", status: .notFound)
            }
            var bytes = Array(data)
            if corruptBodies && !bytes.isEmpty { bytes[bytes.count / 2] ^= 0xff }
            lock.lock()
            let cut = _truncate.removeValue(forKey: file)
            lock.unlock()
            if !ignoresRanges, let range = request.headers["Range"], range.hasPrefix("bytes="), range.hasSuffix("-"),
                let start = Int(range.dropFirst(6).dropLast()), start < bytes.count
            {
                lock.lock()
                _ranges.append(range)
                lock.unlock()
                return HTTPResponse(
                    status: HTTPStatus(code: 206),
                    headers: ["Content-Range": "bytes \(start)-\(bytes.count - 1)/\(bytes.count)"],
                    body: .bytes(Array(bytes[start...])))
            }
            return HTTPResponse(status: .ok, body: .bytes(cut.map { Array(bytes.prefix($0)) } ?? bytes))
        }
        port = try server.listen(port: 0, responder: router).port
    }

    func stop() { server.shutdown(gracePeriod: 1) }

    private func renamed(_ repo: String) -> String? {
        lock.lock()
        defer { lock.unlock() }
        return _renamed[repo]
    }

    private func moved(_ path: String) -> HTTPResponse {
        HTTPResponse(status: HTTPStatus(code: 307), headers: ["Location": path])
    }

    private func folder(_ repo: String) -> URL? {
        lock.lock()
        defer { lock.unlock() }
        return _repositories[repo]
    }

    private func knows(_ repo: String, revision: String) -> Bool {
        revision == "main" || revision == Self.commit(of: repo)
    }

    private func notFound(_ code: String) -> HTTPResponse {
        HTTPResponse(
            status: .notFound, headers: ["X-Error-Code": code, "Content-Type": "text/plain"],
            body: .bytes(Array(code.utf8)))
    }

    private func record(_ request: HTTPRequest) throws {
        lock.lock()
        _requests.append("\(request.method.rawValue) \(request.path)")
        lock.unlock()
        guard let requiredToken else { return }
        if request.headers["Authorization"] != "Bearer \(requiredToken)" {
            throw HTTPError(.unauthorized, "token required")
        }
    }
}
