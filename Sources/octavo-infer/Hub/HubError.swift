/// Why a download failed, with what to do about it.
enum HubError: Error, CustomStringConvertible {
    case invalidRepository(String)
    case repositoryNotFound(repo: String, revision: String)
    case unauthorized(repo: String)
    case fileNotFound(repo: String, file: String)
    case noSafetensors(repo: String)
    case httpStatus(url: String, status: Int)
    case network(url: String, reason: String)
    case malformedResponse(url: String, reason: String)
    case incomplete(file: String, received: Int64, expected: Int64)
    case checksumMismatch(file: String, expected: String, actual: String)

    var description: String {
        switch self {
        case .invalidRepository(let repo):
            return "'\(repo)' is not a repository id; use OWNER/NAME, e.g. openai-community/gpt2."
        case .repositoryNotFound(let repo, let revision):
            return "repository \(repo) at revision \(revision) was not found (private repos need --token or HF_TOKEN)."
        case .unauthorized(let repo):
            return "access to \(repo) was refused; give a token with access (--token or HF_TOKEN)."
        case .fileNotFound(let repo, let file):
            return "\(repo) has no file \(file)."
        case .noSafetensors(let repo):
            return "\(repo) has no safetensors weights (model.safetensors or an index); octavo-infer reads only safetensors. Convert with transformers: model.save_pretrained(dir, safe_serialization=True)."
        case .httpStatus(let url, let status):
            return "\(url) answered HTTP \(status)."
        case .network(let url, let reason):
            return "\(url): \(reason). Check the network or --endpoint; rerun to resume."
        case .malformedResponse(let url, let reason):
            return "\(url): unexpected answer (\(reason)); is --endpoint a Hugging Face hub?"
        case .incomplete(let file, let received, let expected):
            return "\(file): received \(received) of \(expected) bytes; rerun the command to resume."
        case .checksumMismatch(let file, let expected, let actual):
            return "\(file): SHA-256 \(actual) does not match the published \(expected); the partial file was removed, rerun to download it again."
        }
    }
}
