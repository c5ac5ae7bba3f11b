import Foundation

/// What `--model` names: a folder, a hub repository `owner/name[@revision]`, or a catalog name.
enum ModelReference: Equatable {
    case folder(String)
    case hub(repo: String, revision: String)
    case catalog(CatalogEntry, revision: String)

    /// A path that exists, or is written as one (`/`, `./`, `../`, `~`), is a folder, as in
    /// transformers' `from_pretrained`; then a catalog name; then `owner/name[@revision]`.
    /// Anything else is taken for a folder, so the error says it was not found.
    static func parse(_ text: String, catalog: () -> ModelCatalog?) -> ModelReference {
        let pathLike =
            text.hasPrefix("/") || text.hasPrefix("./") || text.hasPrefix("../") || text.hasPrefix("~")
            || text == "." || text == ".."
        if pathLike || FileManager.default.fileExists(atPath: text) { return .folder(text) }
        var base = text
        var revision: String?
        if let at = text.lastIndex(of: "@") {
            base = String(text[..<at])
            revision = String(text[text.index(after: at)...])
            guard let revision, isRevision(revision) else { return .folder(text) }
        }
        if let entry = catalog()?.entry(named: base) { return .catalog(entry, revision: revision ?? entry.revision) }
        if base.contains("/") && isRepositoryID(base) { return .hub(repo: base, revision: revision ?? "main") }
        return .folder(text)
    }

    /// OWNER/NAME (or a legacy NAME) with no path tricks.
    static func isRepositoryID(_ text: String) -> Bool {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard (1...2).contains(parts.count) else { return false }
        return parts.allSatisfy { part in
            !part.isEmpty && part != "." && part != ".."
                && part.allSatisfy { $0.isLetter || $0.isNumber || "-_.".contains($0) }
        }
    }

    /// A branch, tag or commit; no empty parts, no `..`, nothing absolute.
    static func isRevision(_ text: String) -> Bool {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        return !text.isEmpty && !parts.contains { $0.isEmpty || $0 == ".." || $0 == "." }
            && text.allSatisfy { $0.isLetter || $0.isNumber || "-_./".contains($0) }
    }

    /// The repository and revision, for hub and catalog references.
    var repository: (repo: String, revision: String)? {
        switch self {
        case .folder: return nil
        case .hub(let repo, let revision): return (repo, revision)
        case .catalog(let entry, let revision): return (entry.repository, revision)
        }
    }
}
