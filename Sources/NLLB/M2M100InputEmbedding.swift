import Tensor

/// What the encoder and the decoder both start from: the shared token embedding
/// (`M2M100ScaledWordEmbedding`: row · embed_scale) plus the sinusoidal position.
struct M2M100InputEmbedding {
    /// "model.shared.weight" [vocab_size, d_model] (the encoder's and decoder's
    /// `embed_tokens` are the same matrix in transformers).
    let tokens: Embedding
    /// √d_model with scale_embedding, else 1.
    let scale: Float
    let positions: M2M100SinusoidalPositions
    let padTokenID: Int

    var dimension: Int { tokens.dimension }

    /// out[d_model] = embed_tokens[token]·scale + positions[positionID].
    @inline(__always)
    func callAsFunction(out: UnsafeMutablePointer<Float>, token: Int, positionID: Int) {
        let e = tokens.row(token)
        let p = positions.row(positionID)
        for i in 0..<tokens.dimension {
            // Two roundings, as torch does them: the scaled embedding, then the sum.
            let scaled = e[i] * scale
            out[i] = scaled + p[i]
        }
    }

    /// `create_position_ids_from_input_ids` for one token: pad tokens get the
    /// padding row; others padding_idx + (their 1-based count among non-pad tokens).
    @inline(__always)
    func positionID(token: Int, nonPadCount: Int) -> Int {
        token == padTokenID ? padTokenID : padTokenID + nonPadCount
    }
}
