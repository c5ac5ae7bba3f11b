/// The added tokens of a tokenizer, assembled with the id rule of HF tokenizers'
/// `AddedVocabulary::add_tokens`, which is also what loading a tokenizer.json does (the
/// ids written in the file are only checked, with a warning, never used):
/// - a token whose content is already an added token or a vocabulary token gets that id
///   (re-adding an added token with other flags replaces its flags);
/// - otherwise it gets max(added ids) + 1, or the vocabulary size (the number of
///   entries) if no added id is at or above it yet.
struct AddedVocabulary {
    private(set) var tokens: [AddedToken] = []
    private var indexByContent: [[UInt8]: Int] = [:]
    /// HF never removes a content from its special set once added.
    private(set) var specialContents: Set<[UInt8]> = []
    private let baseVocabulary: [[UInt8]: Int]

    init(baseVocabulary: [[UInt8]: Int]) {
        self.baseVocabulary = baseVocabulary
    }

    func token(withContent content: String) -> AddedToken? {
        indexByContent[Array(content.utf8)].map { tokens[$0] }
    }

    /// Adds one token; its `id` is ignored and assigned as HF would.
    mutating func add(_ token: AddedToken) {
        let content = Array(token.content.utf8)
        guard !content.isEmpty else { return }
        if token.special { specialContents.insert(content) }
        if let index = indexByContent[content] {
            var updated = token
            updated.id = tokens[index].id
            tokens[index] = updated
            return
        }
        var assigned = token
        if let id = baseVocabulary[content] {
            assigned.id = id
        } else {
            let vocabularySize = baseVocabulary.count
            let maxAdded = tokens.map(\.id).max()
            if let maxAdded, maxAdded >= vocabularySize || vocabularySize == 0 {
                assigned.id = maxAdded + 1
            } else {
                assigned.id = vocabularySize
            }
        }
        indexByContent[content] = tokens.count
        tokens.append(assigned)
    }
}
