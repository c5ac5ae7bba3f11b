import Foundation
import Tensor

/// Fetches what a model needs from a hub repository, into the Hugging Face cache
/// (huggingface_hub's layout) or into a plain folder.
struct SnapshotDownloader {
    enum Destination {
        case cache(HubCache)
        case folder(URL)
    }

    let client: HubClient
    let progress: DownloadProgress

    /// Downloads the files of `repo` at `revision` that a model needs and returns the folder
    /// that holds them (the snapshot folder, for the cache). Files already there are kept.
    @discardableResult
    func fetch(repo: String, revision: String, include: [String] = [], into destination: Destination) throws -> URL {
        let info = try client.repositoryInfo(repo: repo, revision: revision)
        let selection = try RepositoryFiles.select(info.files, include: include, repo: repo)
        progress.say("\(repo): \(selection.summary)")
        // Every file is fetched at the one commit the revision named, as huggingface_hub
        // does, so a branch that moves during the download cannot mix two commits.
        guard
            let commit = try info.commit
                ?? client.metadata(repo: repo, revision: revision, file: selection.files[0]).commit
        else { throw HubError.noCommit(repo: repo, revision: revision) }

        let folder: URL
        switch destination {
        case .cache(let cache):
            folder = cache.snapshotFolder(repo, commit: commit)
            for file in selection.files {
                try fetchIntoCache(cache, repo: repo, commit: commit, file: file)
            }
            try cache.writeRef(repo, revision: revision, commit: commit)
        case .folder(let directory):
            folder = directory
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            for file in selection.files {
                try fetchIntoFolder(directory, repo: repo, commit: commit, file: file)
            }
        }
        try Self.validate(folder: folder, files: selection.files)
        return folder
    }

    /// blobs/<etag>.incomplete (resumed with a Range), checked, renamed to blobs/<etag>, then
    /// snapshots/<commit>/<file> linked to it: the steps and names huggingface_hub uses.
    private func fetchIntoCache(_ cache: HubCache, repo: String, commit: String, file: String) throws {
        let pointer = cache.snapshotFolder(repo, commit: commit).appendingPathComponent(file)
        if FileManager.default.fileExists(atPath: pointer.path) {
            progress.say("\(file): already in the cache")
            return
        }
        let remote = try client.metadata(repo: repo, revision: commit, file: file)
        guard let etag = remote.etag else {
            throw HubError.malformedResponse(
                url: client.fileURL(repo: repo, revision: commit, file: file).absoluteString,
                reason: "no ETag or X-Linked-Etag to name the blob")
        }
        try cache.withLock(repo, etag: etag) {
            let blob = cache.blob(repo, etag: etag)
            if !FileManager.default.fileExists(atPath: blob.path) {
                try FileManager.default.createDirectory(
                    at: blob.deletingLastPathComponent(), withIntermediateDirectories: true)
                progress.say("\(file): downloading" + (remote.size.map { " (\(decimalBytes($0)))" } ?? ""))
                try client.download(
                    repo: repo, revision: commit, file: file, to: blob,
                    partial: blob.appendingPathExtension("incomplete"), expected: remote, progress: progress)
            }
            try cache.link(repo, commit: commit, file: file, etag: etag)
        }
    }

    /// DIR/<file>, through DIR/<file>.part.
    private func fetchIntoFolder(_ directory: URL, repo: String, commit: String, file: String) throws {
        let destination = directory.appendingPathComponent(file)
        let remote = try client.metadata(repo: repo, revision: commit, file: file)
        if try Self.isComplete(destination, remote) {
            progress.say("\(file): already complete")
            return
        }
        progress.say("\(file): downloading" + (remote.size.map { " (\(decimalBytes($0)))" } ?? ""))
        try client.download(
            repo: repo, revision: commit, file: file, to: destination, expected: remote, progress: progress)
    }

    static func isComplete(_ url: URL, _ remote: HubClient.RemoteFile) throws -> Bool {
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: url.path),
            let size = attributes[.size] as? Int64
        else { return false }
        if let expected = remote.size, expected != size { return false }
        if let digest = remote.sha256 { return try sha256(of: url) == digest }
        return remote.size != nil
    }

    /// Every JSON file parses and every safetensors header is valid.
    static func validate(folder: URL, files: [String]) throws {
        for file in files {
            let url = folder.appendingPathComponent(file)
            if file.hasSuffix(".json") {
                guard let data = FileManager.default.contents(atPath: url.path),
                    (try? JSONSerialization.jsonObject(with: data)) != nil
                else {
                    throw CLIError.runtime("\(file): downloaded but not valid JSON; delete it and rerun")
                }
            } else if file.hasSuffix(".safetensors") {
                do { _ = try SafeTensorsFile(path: url.path) } catch {
                    throw CLIError.runtime("\(error) Delete the file and rerun.")
                }
            }
        }
    }
}
