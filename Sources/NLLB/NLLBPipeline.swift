import Foundation
import Generation
import Tensor
import Tokenizer

/// An NLLB / M2M100 folder ready to translate text: the model, its tokenizer and
/// the defaults of its generation_config.json. What the CLI and the server load.
///
/// Text is cut into sentences (punctuation kept, paragraphs remembered), every
/// sentence of every text goes through the model as one batch, and the
/// translations are put back in the original paragraph layout. A sentence longer
/// than the model's positions is cut at its best boundary first, never truncated.
///
/// Sendable by hand: options are set before it is shared; the model is driven by one executor thread at a
/// time.
public final class NLLBPipeline: @unchecked Sendable {
    public let directory: URL
    public let translator: M2M100Translator
    public let tokenizer: NLLBTokenizer
    public let loadMilliseconds: Double
    /// When given, translations may use only the tokens this map allows for their sources
    /// (CTranslate2's vocabulary restriction), and the output layer scores only those.
    public let vocabularyMap: VocabularyMap?
    private let splitter = SentenceSplitter()

    /// How to translate; nil fields take the folder's generation_config.json defaults.
    public struct Options: Sendable {
        public var source: String
        public var target: String
        public var beams: Int?
        public var maxNewTokens: Int?
        public var lengthPenalty: Float?
        public var repetitionPenalty: Float?
        public var noRepeatNgramSize: Int?

        public init(source: String = "eng_Latn", target: String, beams: Int? = nil, maxNewTokens: Int? = nil) {
            self.source = source
            self.target = target
            self.beams = beams
            self.maxNewTokens = maxNewTokens
        }
    }

    /// One sentence's translation.
    public struct Sentence: Sendable {
        public let source: String
        public let text: String
        /// What transformers' `generate()` returns for this sentence alone.
        public let outputIDs: [Int]
        public let finishReason: FinishReason
    }

    /// One text's translation.
    public struct Translation: Sendable {
        public let text: String
        public let sentences: [Sentence]
    }

    /// Translations of a batch of texts, with the timings of the one model call.
    public struct Result: Sendable {
        public let translations: [Translation]
        public let timings: Seq2SeqTimings
        public let tokenizeMs: Double
        /// The tokens the output layer scored, when a vocabulary map restricted them.
        public let outputVocabularySize: Int?
        /// What the draft proposed and the model kept, when translating speculatively.
        public var speculative: SpeculativeStatistics?
    }

    /// Loads the model, the tokenizer (sentencepiece.bpe.model or tokenizer.json) and
    /// generation_config.json of a Hugging Face NLLB folder, and the CTranslate2 vocabulary
    /// map at `vocabularyMap` when given.
    public init(
        directory: URL, precision: WeightPrecision = .f32, cachePrecision: KVCachePrecision = .f32,
        vocabularyMap: URL? = nil
    ) throws {
        let start = DispatchTime.now()
        self.directory = directory
        let model = try M2M100Model(directory: directory, precision: precision, cachePrecision: cachePrecision)
        translator = M2M100Translator(
            model: model, generationConfig: try GenerationConfigFile.load(directory: directory))
        tokenizer = try NLLBTokenizer(folder: directory)
        self.vocabularyMap = try vocabularyMap.map { [tokenizer] in
            try VocabularyMap(contentsOf: $0, tokenizer: tokenizer)
        }
        loadMilliseconds = Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e6
    }

    /// Tokens a source sentence may have: the model's positions less the language code and `</s>`.
    public var maxSentenceTokens: Int { translator.model.maxSourcePositions - 2 }

    /// Texts cut into sentences and tokenized, with the generation parameters for them: what
    /// the model runs. The server prepares on the request's thread and runs each sentence in
    /// its executor; `translate` does both in one call.
    public struct Prepared: Sendable {
        /// Every sentence of every text, in order, as the encoder reads it.
        public let sources: [[Int]]
        /// Each text's sentences and layout, to put the translations back.
        public let splits: [SplitText]
        /// Checked against the model; the target language forced first.
        public let parameters: Seq2SeqParameters
        public let targetLanguageID: Int
        public let tokenizeMs: Double
    }

    /// Cuts each text into sentences, tokenizes them, and resolves `options` over the
    /// folder's defaults. Reads only immutable state: any thread may call it.
    /// - Throws: `NLLBPipelineError` for empty text, the tokenizer's error (with
    ///   suggestions) for an unknown language, generation errors for bad options.
    public func prepare(_ texts: [String], options: Options) throws -> Prepared {
        let targetID = try tokenizer.languageTokenID(options.target)
        _ = try tokenizer.languageTokenID(options.source)
        let tokenizeStart = DispatchTime.now()
        let limit = maxSentenceTokens
        let splits = try texts.map { text -> SplitText in
            let split = splitter.split(
                text, limit: .tokens(limit, count: { [tokenizer] in tokenizer.encode($0).count }))
            guard !split.sentences.isEmpty else { throw NLLBPipelineError.emptyText }
            return split
        }
        var sources: [[Int]] = []
        for split in splits {
            for sentence in split.sentences {
                sources.append(try tokenizer.encodeSource(String(sentence.text), language: options.source))
            }
        }
        let tokenizeMs = Double(DispatchTime.now().uptimeNanoseconds - tokenizeStart.uptimeNanoseconds) / 1e6

        var parameters = translator.defaultParameters(targetLanguageID: targetID)
        if let beams = options.beams { parameters.numBeams = beams }
        if let n = options.maxNewTokens {
            parameters.generation.maxNewTokens = n
            parameters.generation.maxLength = nil
        }
        if let x = options.lengthPenalty { parameters.lengthPenalty = x }
        if let x = options.repetitionPenalty { parameters.generation.repetitionPenalty = x }
        if let x = options.noRepeatNgramSize { parameters.generation.noRepeatNgramSize = x }
        if let vocabularyMap {
            parameters.outputVocabulary = vocabularyMap.vocabulary(sources: sources, targetPrefix: [targetID])
        }
        try parameters.validate(vocabularySize: translator.model.vocabularySize)
        return Prepared(
            sources: sources, splits: splits, parameters: parameters, targetLanguageID: targetID,
            tokenizeMs: tokenizeMs)
    }

    /// The translated texts: `outputs[i]` is the model's output for `prepared.sources[i]`.
    public func assemble(_ prepared: Prepared, outputs: [Seq2SeqOutput]) throws -> [Translation] {
        guard outputs.count == prepared.sources.count else {
            throw NLLBPipelineError.outputCountMismatch(expected: prepared.sources.count, got: outputs.count)
        }
        var next = 0
        return try prepared.splits.map { split -> Translation in
            var sentences: [Sentence] = []
            for sentence in split.sentences {
                let output = translator.translation(
                    of: outputs[next], targetLanguageID: prepared.targetLanguageID,
                    eosTokenIDs: prepared.parameters.generation.eosTokenIDs)
                next += 1
                let text = tokenizer.decode(output.translationIDs, skipSpecialTokens: true)
                sentences.append(
                    Sentence(
                        source: String(sentence.text), text: text, outputIDs: output.outputIDs,
                        finishReason: output.finishReason))
            }
            return Translation(text: try split.reassemble(sentences.map(\.text)), sentences: sentences)
        }
    }

    /// Translates each text; all their sentences share one batch. With `speculative` (greedy
    /// only), the sentences go one at a time through it: a draft's guesses checked by this
    /// model, the same ids as without.
    /// - Throws: as `prepare`.
    public func translate(
        _ texts: [String], options: Options, shouldStop: (() -> Bool)? = nil,
        speculative: Seq2SeqSpeculativeDecoder? = nil
    ) throws -> Result {
        let prepared = try prepare(texts, options: options)
        let result: M2M100TranslationResult
        var statistics: SpeculativeStatistics?
        if let speculative {
            (result, statistics) = try translator.translate(
                prepared.sources, targetLanguageID: prepared.targetLanguageID,
                parameters: prepared.parameters, speculative: speculative)
        } else {
            result = try translator.translate(
                prepared.sources, targetLanguageID: prepared.targetLanguageID,
                parameters: prepared.parameters, shouldStop: shouldStop)
        }
        let outputs = result.translations.map {
            Seq2SeqOutput(ids: $0.outputIDs, finishReason: $0.finishReason, score: $0.score)
        }
        return Result(
            translations: try assemble(prepared, outputs: outputs), timings: result.timings,
            tokenizeMs: prepared.tokenizeMs, outputVocabularySize: prepared.parameters.outputVocabulary?.count,
            speculative: statistics)
    }
}

/// Why a text could not be translated.
public enum NLLBPipelineError: Error, CustomStringConvertible, Equatable {
    case emptyText
    /// The model gave a different number of outputs than there were sentences (a bug).
    case outputCountMismatch(expected: Int, got: Int)

    public var description: String {
        switch self {
        case .emptyText: return "the text to translate is empty. Give some text."
        case .outputCountMismatch(let expected, let got):
            return "expected one translation per sentence (\(expected)), got \(got). This is a bug: report it."
        }
    }
}
