/// Why a download or a cache lookup failed, with what to do about it.
enum HubError: Error, CustomStringConvertible {
    case invalidRepository(String)
    case repositoryNotFound(repo: String, revision: String)
    case unauthorized(repo: String)
    case fileNotFound(repo: String, file: String)
    case noWeights(repo: String)
    case noCommit(repo: String, revision: String)
    case httpStatus(url: String, status: Int)
    case network(url: String, reason: String)
    case malformedResponse(url: String, reason: String)
    case incomplete(file: String, received: Int64, expected: Int64)
    case checksumMismatch(file: String, expected: String, actual: String)
    /// The model is not in the cache and downloading is turned off.
    case offline(reference: String, cache: String, reason: String, fetchCommand: String)
    case cache(path: String, reason: String)

    var description: String {
        switch self {
        case .invalidRepository(let repo):
            return "'\(repo)' is not a repository id; use OWNER/NAME, e.g. openai-community/gpt2."
        case .repositoryNotFound(let repo, let revision):
            return "repository \(repo) at revision \(revision) was not found (private repos need --token or "
                + "HF_TOKEN)."
        case .unauthorized(let repo):
            return "access to \(repo) was refused; give a token with access (--token or HF_TOKEN)."
        case .fileNotFound(let repo, let file):
            return "\(repo) has no file \(file)."
        case .noWeights(let repo):
            return "\(repo) has neither safetensors (model.safetensors or an index) nor PyTorch weights "
                + "(pytorch_model.bin or an index); it is not a model octavo-infer can load."
        case .noCommit(let repo, let revision):
            return "the hub named no commit for \(repo) at \(revision) (no \"sha\", no X-Repo-Commit); is the "
                + "endpoint a Hugging Face hub?"
        case .httpStatus(let url, let status):
            return "\(url) answered HTTP \(status)."
        case .network(let url, let reason):
            return "\(url): \(reason). Check the network or --endpoint; rerun to resume."
        case .malformedResponse(let url, let reason):
            return "\(url): unexpected answer (\(reason)); is --endpoint a Hugging Face hub?"
        case .incomplete(let file, let received, let expected):
            return "\(file): received \(received) of \(expected) bytes; rerun the command to resume."
        case .checksumMismatch(let file, let expected, let actual):
            return "\(file): SHA-256 \(actual) does not match the published \(expected); the partial file was "
                + "removed, rerun to download it again."
        case .offline(let reference, let cache, let reason, let fetchCommand):
            return "\(reference) is \(reason) in the Hugging Face cache (\(cache)) and downloads are off "
                + "(HF_HUB_OFFLINE=1 or --offline); '\(fetchCommand)' would fetch it (run it online)."
        case .cache(let path, let reason):
            return "\(path): \(reason)"
        }
    }
}
