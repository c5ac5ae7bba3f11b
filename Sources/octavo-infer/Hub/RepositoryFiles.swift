/// Which of a repository's files a model needs: its config and tokenizer files and one
/// weight layout, safetensors when the repository has them, PyTorch `.bin` otherwise.
enum RepositoryFiles {
    enum WeightFormat: String {
        case safetensors
        case pytorch = "bin"
    }

    struct Selection {
        /// Sorted file names to fetch.
        let files: [String]
        let format: WeightFormat
        /// Weight files left out (the other formats).
        let skipped: [String]

        /// One line for the user: which weights, and why.
        var summary: String {
            let weights = files.filter(RepositoryFiles.isWeightFile)
            let described =
                weights.count == 1
                ? weights[0]
                : "\(weights.count) files: "
                    + "\(weights.joined(separator: ", "))"
            let why = format == .safetensors ? "safetensors" : "PyTorch .bin (the repository has no safetensors)"
            let skipping = skipped.isEmpty ? "" : "; skipping \(skipped.joined(separator: ", "))"
            return "weights: \(why): \(described)\(skipping)"
        }
    }

    /// Files a model folder needs besides its weights.
    static let companions: Set<String> = [
        "config.json", "generation_config.json",
        "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "added_tokens.json",
        "vocab.json", "merges.txt", "sentencepiece.bpe.model",
    ]

    static func select(_ available: [String], include: [String] = [], repo: String) throws -> Selection {
        let safe = available.filter { !$0.hasPrefix("/") && !$0.split(separator: "/").contains("..") }
        let names = Set(safe)
        let weights: [String]
        let format: WeightFormat
        if names.contains("model.safetensors.index.json") {
            weights = ["model.safetensors.index.json"] + safe.filter(isSafetensorsShard)
            format = .safetensors
        } else if names.contains("model.safetensors") {
            weights = ["model.safetensors"]
            format = .safetensors
        } else if names.contains("pytorch_model.bin.index.json") {
            weights = ["pytorch_model.bin.index.json"] + safe.filter(isPyTorchShard)
            format = .pytorch
        } else if names.contains("pytorch_model.bin") {
            weights = ["pytorch_model.bin"]
            format = .pytorch
        } else {
            throw HubError.noWeights(repo: repo)
        }
        let extra = safe.filter { name in
            companions.contains(name) || include.contains { wildcardMatch(pattern: $0, name) }
        }
        let files = Set(weights + extra).sorted()
        let skipped = safe.filter { isAnyWeightFile($0) && !files.contains($0) }.sorted()
        return Selection(files: files, format: format, skipped: skipped)
    }

    static func isSafetensorsShard(_ name: String) -> Bool {
        name.hasPrefix("model-") && name.hasSuffix(".safetensors") && name.contains("-of-")
    }

    static func isPyTorchShard(_ name: String) -> Bool {
        name.hasPrefix("pytorch_model-") && name.hasSuffix(".bin") && name.contains("-of-")
    }

    /// The weight files of the layouts `select` chooses from.
    static func isWeightFile(_ name: String) -> Bool {
        ["model.safetensors", "model.safetensors.index.json", "pytorch_model.bin", "pytorch_model.bin.index.json"]
            .contains(name)
            || isSafetensorsShard(name) || isPyTorchShard(name)
    }

    /// Weights in any framework's format (what `select` reports as skipped).
    static func isAnyWeightFile(_ name: String) -> Bool {
        if isWeightFile(name) { return true }
        return [".bin", ".safetensors", ".h5", ".msgpack", ".ckpt", ".pt", ".pth", ".onnx", ".ot", ".gguf"]
            .contains { name.hasSuffix($0) } && !name.contains("/")
    }
}

/// Shell-style matching of `*` and `?`.
func wildcardMatch(pattern: String, _ text: String) -> Bool {
    let p = Array(pattern)
    let t = Array(text)
    var pi = 0
    var ti = 0
    var star = -1
    var mark = 0
    while ti < t.count {
        if pi < p.count && (p[pi] == "?" || p[pi] == t[ti]) {
            pi += 1
            ti += 1
        } else if pi < p.count && p[pi] == "*" {
            star = pi
            mark = ti
            pi += 1
        } else if star >= 0 {
            pi = star + 1
            mark += 1
            ti = mark
        } else {
            return false
        }
    }
    while pi < p.count && p[pi] == "*" { pi += 1 }
    return pi == p.count
}
