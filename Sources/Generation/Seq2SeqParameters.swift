/// transformers' `early_stopping`: when beam search may stop before `max_length`.
public enum BeamEarlyStopping: String, Sendable, Codable, Equatable {
    /// `True`: as soon as `num_beams` hypotheses have finished.
    case whenBeamsFull = "true"
    /// `False` (the default): when the best running beam, scored at the current
    /// length, can no longer beat the worst finished hypothesis.
    case heuristic = "false"
    /// `"never"`: like `heuristic`, but with a positive length penalty the running
    /// beam is scored at `max_length` (the canonical beam search bound).
    case never = "never"
}

/// Everything an encoder-decoder generation needs, with transformers' meaning.
///
/// Greedy decoding (`numBeams` 1, no sampling), sampling (`numBeams` 1,
/// `generation.doSample`) and beam search (`numBeams` > 1) all start the target
/// from `decoderStartTokenID`, force `forcedBOSTokenID` (the target language) as
/// the first generated token, and stop at an EOS id or `max_length`.
public struct Seq2SeqParameters: Sendable, Equatable {
    /// Token budget, penalties, sampling and EOS ids, shared with decoder-only
    /// generation. `maxNewTokens` counts generated tokens (the forced language id
    /// included); `maxLength` counts the whole target, decoder start included, as
    /// transformers does. Stop strings and context-overflow handling do not apply.
    public var generation: GenerationParameters
    public var numBeams: Int = 1
    /// Finished hypotheses are ranked by sum(log p) / length^lengthPenalty, the
    /// length counting generated tokens only.
    public var lengthPenalty: Float = 1
    public var earlyStopping: BeamEarlyStopping = .heuristic
    /// The decoder's first input (NLLB: `</s>`, id 2).
    public var decoderStartTokenID: Int
    /// Forced as the first generated token (NLLB: the target language code).
    public var forcedBOSTokenID: Int?
    /// When set, the output layer scores only these tokens and no other can be generated
    /// (CTranslate2's vocabulary restriction; `VocabularyMap` makes one from the sources).
    /// It must hold every EOS id, and at least two tokens per beam.
    public var outputVocabulary: OutputVocabulary?

    public init(decoderStartTokenID: Int, eosTokenIDs: [Int], forcedBOSTokenID: Int? = nil) {
        generation = GenerationParameters()
        generation.eosTokenIDs = eosTokenIDs
        self.decoderStartTokenID = decoderStartTokenID
        self.forcedBOSTokenID = forcedBOSTokenID
    }

    /// What a model folder's generation_config.json asks for (transformers'
    /// defaults for what it leaves out). The ids given here (the model's
    /// config.json) fill what the file does not state, as transformers falls back.
    public init(file: GenerationConfigFile, decoderStartTokenID: Int, eosTokenIDs: [Int]) {
        generation = file.defaults()
        if file.eosTokenIDs == nil { generation.eosTokenIDs = eosTokenIDs }
        numBeams = file.numBeams ?? 1
        lengthPenalty = file.lengthPenalty ?? 1
        earlyStopping = file.earlyStopping ?? .heuristic
        self.decoderStartTokenID = file.decoderStartTokenID ?? decoderStartTokenID
        forcedBOSTokenID = file.forcedBOSTokenID
    }

    /// Checks the values against each other and the model; the message says which and why.
    public func validate(vocabularySize: Int) throws {
        try generation.validate()
        func fail(_ name: String, _ value: Any, _ rule: String) -> GenerationError {
            .invalidParameter(name: name, value: "\(value)", reason: rule)
        }
        if numBeams < 1 { throw fail("num_beams", numBeams, "must be >= 1") }
        if !lengthPenalty.isFinite { throw fail("length_penalty", lengthPenalty, "must be a finite number") }
        if numBeams > 1 && generation.doSample && !generation.isGreedy {
            throw fail(
                "num_beams", numBeams,
                "beam sampling is not supported: sample with num_beams 1, or search beams without do_sample")
        }
        if numBeams > 1 && (generation.presencePenalty != 0 || generation.frequencyPenalty != 0) {
            throw fail(
                "presence_penalty/frequency_penalty", "\(generation.presencePenalty)/\(generation.frequencyPenalty)",
                "not defined for beam search (transformers has no such penalty); use repetition_penalty")
        }
        if !generation.stopStrings.isEmpty {
            throw fail("stop", generation.stopStrings, "stop strings are not supported for encoder-decoder generation")
        }
        var ids =
            [("decoder_start_token_id", decoderStartTokenID)] + generation.eosTokenIDs.map { ("eos_token_id", $0) }
        if let forcedBOSTokenID { ids.append(("forced_bos_token_id", forcedBOSTokenID)) }
        for (name, id) in ids where id < 0 || id >= vocabularySize {
            throw fail(name, id, "outside the model's vocabulary (0..<\(vocabularySize))")
        }
        if let vocabulary = outputVocabulary {
            let description = "\(vocabulary.count) tokens"
            if let outside = [vocabulary.tokens.first, vocabulary.tokens.last].compactMap({ $0 }).first(where: {
                $0 < 0 || $0 >= vocabularySize
            }) {
                throw fail(
                    "output vocabulary", description,
                    "holds token \(outside), outside the model's vocabulary (0..<\(vocabularySize))")
            }
            if let eos = generation.eosTokenIDs.first(where: { !vocabulary.contains($0) }) {
                throw fail("output vocabulary", description, "lacks the EOS token \(eos), so no translation could end")
            }
            if vocabulary.count < 2 * numBeams {
                throw fail(
                    "output vocabulary", description,
                    "beam search over \(numBeams) beams needs at least \(2 * numBeams) candidate tokens")
            }
        }
    }

    /// transformers' `max_length` for this generation: the decoder start plus at
    /// most this many - 1 new tokens. `max_new_tokens` wins over `max_length`;
    /// with neither, transformers' default of 20 new tokens.
    /// Throws when the decoder cannot read that many positions.
    public func resolvedMaxLength(maxTargetPositions: Int) throws -> Int {
        let length: Int
        if let n = generation.maxNewTokens {
            guard n >= 1 else {
                throw GenerationError.invalidParameter(
                    name: "max_new_tokens", value: "\(n)", reason: "must be >= 1 for encoder-decoder generation")
            }
            length = n + 1
        } else if let m = generation.maxLength {
            guard m >= 2 else {
                throw GenerationError.invalidParameter(
                    name: "max_length", value: "\(m)", reason: "must be >= 2: it counts the decoder start token")
            }
            length = m
        } else {
            length = min(20 + 1, maxTargetPositions + 1)
        }
        // The last token is generated, never read: max_length - 1 tokens go through the decoder.
        guard length - 1 <= maxTargetPositions else {
            let name = generation.maxNewTokens != nil ? "max_new_tokens" : "max_length"
            let value = generation.maxNewTokens ?? length
            throw GenerationError.invalidParameter(
                name: name, value: "\(value)",
                reason: "the decoder has \(maxTargetPositions) positions, so at most \(maxTargetPositions) new "
                    + "tokens (max_length \(maxTargetPositions + 1)) fit")
        }
        return length
    }
}
