import Foundation
import HTTPServer

/// A finished story: its paragraphs and what it cost.
public struct StoryOutcome: Sendable {
    public let paragraphs: [StoryParagraph]
    /// eos, length or stop, as the generation ended.
    public let finishReason: String
    public let seed: UInt64
    public let promptTokens: Int
    public let generatedTokens: Int
    /// Submission to the story model's last token.
    public let generationMilliseconds: Double
    /// Request to the last paragraph.
    public let totalMilliseconds: Double

    /// Summed over paragraphs (it overlaps the generation).
    public var translationMilliseconds: Double { paragraphs.reduce(0) { $0 + $1.translationMilliseconds } }

    /// The story in the old services' shape (`[Content]: ` before each paragraph), translated.
    public var content: String { Self.content(paragraphs.map { $0.translation ?? $0.text }) }

    /// The same as the model wrote it.
    public var originalContent: String { Self.content(paragraphs.map(\.text)) }

    static func content(_ paragraphs: [String]) -> String {
        StoryFormatter.contentPrefix + paragraphs.joined(separator: StoryFormatter.paragraphSeparator)
    }
}

/// A story told outside the HTTP server (`octavo-infer story`): the same checks, generation and
/// paragraph-by-paragraph translation as `POST /v1/stories`, over services the caller built.
public enum StoryTeller {
    public struct Options: Sendable {
        public var prompt: String
        /// A preset of the story model; nil means its fallback (adult).
        public var audience: String?
        /// FLORES-200 code; nil or eng_Latn keeps the story in English.
        public var language: String?
        public var seed: UInt64?
        public var maxNewTokens: Int?
        /// New tokens at most per translated sentence (default 1000, the old translator's max_length).
        public var translationMaxNewTokens = 1000

        public init(
            prompt: String, audience: String? = nil, language: String? = nil, seed: UInt64? = nil,
            maxNewTokens: Int? = nil
        ) {
            self.prompt = prompt
            self.audience = audience
            self.language = language
            self.seed = seed
            self.maxNewTokens = maxNewTokens
        }
    }

    /// Writes the story, calling `onParagraph` with each paragraph (translated when a language was
    /// asked for) as soon as it is ready; returning false stops.
    /// - Throws: the request's faults as `HTTPError` (their messages say what to change).
    public static func tell(
        _ options: Options, service: GenerationService, translator: TranslationService?,
        timeout: TimeInterval = 3600, onParagraph: (StoryParagraph) -> Bool
    ) throws -> StoryOutcome {
        let started = DispatchTime.now().uptimeNanoseconds
        var body = StoryRequestBody()
        body.prompt = options.prompt
        body.audience = options.audience
        body.language = options.language
        body.seed = options.seed
        body.maxNewTokens = options.maxNewTokens
        var plan = try StoryPlan(body, service: service, translator: translator, timeout: timeout)
        plan.translationMaxNewTokens = options.translationMaxNewTokens
        return try StoryRun(plan: plan, timeout: timeout, cancelOn: nil).run(started: started, onParagraph: onParagraph)
            .get()
    }

    /// One paragraph in `language`, as the story paths translate it: cut into sentences as the old
    /// translator did (tags kept aside), the sentences translated from English as one batch, and
    /// put back together.
    public static func translate(
        paragraph: String, to language: String, on translator: TranslationService,
        maxNewTokens: Int = 1000, timeout: TimeInterval = 3600,
        cancelOn disconnect: DisconnectSignal? = nil
    ) throws -> String {
        let sentences = LegacyText.planTranslation(paragraph)
        guard !sentences.sourceSentences.isEmpty else { return try sentences.render(translations: []) }
        let request = TranslationRequest(
            texts: sentences.sourceSentences, source: StoryPlan.sourceLanguage, target: language,
            beams: nil, maxNewTokens: maxNewTokens)
        let result = try TranslationCall.run(request, on: translator, timeout: timeout, cancelOn: disconnect)
        return try sentences.render(translations: result.texts)
    }
}
