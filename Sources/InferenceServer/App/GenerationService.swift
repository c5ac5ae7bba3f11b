import Foundation
import Generation
import HTTPServer
import Tokenizer

/// Which of the old story services' post-processing a model gets on `/generate_story`.
public enum LegacyStoryVariant: String, Sendable, CaseIterable {
    /// The small service: keep what follows the first "Story:".
    case small
    /// The medium service: also split on "### Story:" and trim.
    case medium
}

/// A text-generation model as the server serves it: its executor (which owns the model),
/// tokenizer and defaults. Handlers reach the model only through `executor`.
public final class GenerationService: Sendable {
    public let name: String
    public let tokenizer: Tokenizer
    public let vocabularySize: Int
    public let maxPositions: Int
    /// The folder's generation_config.json over transformers' defaults, EOS included.
    public let defaults: GenerationParameters
    /// Prompt used for an empty prompt, as transformers does.
    public let bosTokenID: Int?
    /// Forced post-processing for `/generate_story`; nil detects it from the text.
    public let storyVariant: LegacyStoryVariant?
    /// Audiences and their sampling for stories (the folder's `story_presets.json`, else the standard table).
    public let storyPresets: StoryPresets
    /// Shown by `GET /v1/models` and `/health`.
    public let architecture: String
    /// How `/v1/chat/completions` turns messages into a prompt.
    public let chatTemplate: ChatTemplate
    public let executor: GenerationExecutor
    /// The draft sequences decode with (exact speculative decoding), if any.
    public let draft: GenerationDraft?

    public init(
        name: String, model: CausalLanguageModel, tokenizer: Tokenizer, defaults: GenerationParameters,
        bosTokenID: Int?, storyVariant: LegacyStoryVariant? = nil, chatTemplate: ChatTemplate = .plain,
        storyPresets: StoryPresets = .standard, architecture: String = "gpt2",
        configuration: GenerationExecutor.Configuration, metrics: ServerMetrics?, draft: GenerationDraft? = nil
    ) {
        self.name = name
        self.tokenizer = tokenizer
        vocabularySize = model.vocabularySize
        maxPositions = model.maxPositions
        self.defaults = defaults
        self.bosTokenID = bosTokenID
        self.storyVariant = storyVariant
        self.storyPresets = storyPresets
        self.architecture = architecture
        self.chatTemplate = chatTemplate
        self.draft = draft
        executor = GenerationExecutor(
            name: name, model: model, tokenizer: tokenizer,
            configuration: configuration, metrics: metrics, draft: draft)
    }

    /// A loaded causal language model folder (`GPT2Pipeline`, or what the model factory loads).
    public convenience init(
        name: String, pipeline: any CausalLanguagePipeline, storyVariant: LegacyStoryVariant? = nil,
        chatTemplate: ChatTemplate = .plain, storyPresets: StoryPresets = .standard,
        configuration: GenerationExecutor.Configuration, metrics: ServerMetrics?,
        draft: GenerationDraft? = nil
    ) {
        self.init(
            name: name, model: pipeline.languageModel, tokenizer: pipeline.textTokenizer,
            defaults: pipeline.defaultParameters(), bosTokenID: pipeline.bosTokenID,
            storyVariant: storyVariant, chatTemplate: chatTemplate, storyPresets: storyPresets,
            architecture: pipeline.architecture, configuration: configuration, metrics: metrics, draft: draft)
    }

    /// The prompt's ids; an empty prompt starts from BOS (transformers' behaviour).
    public func encode(_ prompt: String) -> [Int] {
        let ids = tokenizer.encode(prompt)
        if ids.isEmpty, let bos = bosTokenID { return [bos] }
        return ids
    }

    /// Sets `parameters`' budget to at most `requested` new tokens, capped so prompt and
    /// output fit the model's positions (documented: never an error for a large
    /// max_tokens). A prompt that leaves no room is a 400.
    func capBudget(_ parameters: inout GenerationParameters, promptCount: Int, requested: Int) throws {
        guard promptCount < maxPositions else {
            throw APIErrors.contextOverflow(promptTokens: promptCount, maxPositions: maxPositions, model: name)
        }
        parameters.maxNewTokens = max(0, min(requested, maxPositions - promptCount))
        parameters.maxLength = nil
        parameters.contextOverflow = .error
    }

    /// Token ids a client sent, checked against the vocabulary (`field` names them in the error).
    func validate(ids: [Int], field: String) throws {
        if let bad = ids.first(where: { $0 < 0 || $0 >= vocabularySize }) {
            throw APIErrors.invalid(field, "token id \(bad) is outside the vocabulary (0..<\(vocabularySize)).")
        }
    }
}

/// A translation model as the server serves it.
public final class TranslationService: Sendable {
    public let name: String
    public let backend: TranslationBackend
    public let executor: TranslationExecutor

    /// The draft greedy sentences decode with (exact speculative decoding), if any.
    public let draft: GenerationDraft?

    public init(
        name: String, backend: TranslationBackend, configuration: TranslationExecutor.Configuration,
        metrics: ServerMetrics?, draft: GenerationDraft? = nil
    ) {
        self.name = name
        self.backend = backend
        self.draft = draft
        executor = TranslationExecutor(
            name: name, backend: backend, configuration: configuration, metrics: metrics, draft: draft)
    }
}
