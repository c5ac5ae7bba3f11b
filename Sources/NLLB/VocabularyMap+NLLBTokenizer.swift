import Foundation
import Generation
import Tokenizer

extension VocabularyMap {
    /// Reads a CTranslate2 vocabulary map whose token strings are `tokenizer`'s pieces and
    /// codes (as `ct2-transformers-converter --vocab_mapping` takes it for an NLLB folder).
    /// The unknown, begin and end tokens are always candidates, as in CTranslate2 4.8 (which
    /// dropped the padding token from that list).
    public init(contentsOf url: URL, tokenizer: NLLBTokenizer) throws {
        try self.init(
            contentsOf: url,
            tokenID: { token in
                let id = tokenizer.id(forToken: token)
                return id == tokenizer.unkID && token != tokenizer.token(forID: tokenizer.unkID) ? nil : id
            },
            tokenString: { tokenizer.token(forID: $0) },
            unknownTokenID: tokenizer.unkID,
            specialTokenIDs: [tokenizer.unkID, tokenizer.bosID, tokenizer.eosID])
    }
}
