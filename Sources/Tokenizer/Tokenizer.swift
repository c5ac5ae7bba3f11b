/// What the generation loop and the server need from any tokenizer.
///
/// Ids are `Int` everywhere in the public API. Decoding works on bytes so that a
/// streaming decoder can hold back an incomplete UTF-8 sequence (a byte-level BPE
/// token can end in the middle of a character).
public protocol Tokenizer: Sendable {
    /// Number of ids the tokenizer can produce (base vocabulary plus added tokens).
    var vocabularySize: Int { get }

    /// Ids of special tokens (`<|endoftext|>`, `</s>`, language codes...), which
    /// `decode(_:skipSpecialTokens:)` drops when asked to.
    var specialTokenIDs: Set<Int> { get }

    /// Text to ids, exactly as the reference (Hugging Face) tokenizer does it,
    /// without adding any model-specific prefix or suffix tokens.
    func encode(_ text: String) -> [Int]

    /// Ids to text, the exact inverse of `encode` for ids that `encode` produced.
    func decode(_ ids: [Int], skipSpecialTokens: Bool) -> String

    /// The raw UTF-8 bytes a token stands for, or nil for an id out of range.
    /// `isFirst` tells a tokenizer that strips a leading space from the first
    /// piece of the output (SentencePiece) that this token starts the text.
    func bytes(forToken id: Int, isFirst: Bool) -> [UInt8]?
}
