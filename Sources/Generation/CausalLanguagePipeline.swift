import Foundation
import Tokenizer

/// A causal language model folder loaded and ready to generate, whatever its architecture:
/// what the server's generation routes and the `generate` and `story` commands need. The
/// model factory loads one by config.json's `model_type` (`GPT2Pipeline` conforms).
public protocol CausalLanguagePipeline: AnyObject, Sendable {
    /// The folder it was loaded from (chat template and story presets are looked up there).
    var directory: URL { get }
    /// config.json's `model_type` (`gpt2`), shown by `GET /v1/models`.
    var architecture: String { get }
    var languageModel: CausalLanguageModel { get }
    var textTokenizer: Tokenizer { get }
    /// The token an empty prompt starts from (generation_config.json's, else config.json's).
    var bosTokenID: Int? { get }
    /// Number of weights (a tied output layer counted once).
    var parameterCount: Int { get }
    /// Milliseconds spent loading (config, tokenizer, weights).
    var loadMilliseconds: Double { get }
    /// transformers' defaults overlaid with generation_config.json (EOS included).
    func defaultParameters() -> GenerationParameters
}

extension CausalLanguagePipeline {
    /// The prompt's ids; an empty prompt starts from the BOS token, as transformers does.
    public func encode(prompt: String) -> [Int] {
        let ids = textTokenizer.encode(prompt)
        if ids.isEmpty, let bos = bosTokenID { return [bos] }
        return ids
    }

    /// Generates a continuation of `prompt`, streaming steps to `onStep`.
    public func generate(
        prompt: String, parameters: GenerationParameters, onStep: ((GenerationStep) -> Bool)? = nil
    ) throws -> GenerationResult {
        try TextGenerator(model: languageModel, tokenizer: textTokenizer)
            .generate(promptIDs: encode(prompt: prompt), parameters: parameters, onStep: onStep)
    }
}
