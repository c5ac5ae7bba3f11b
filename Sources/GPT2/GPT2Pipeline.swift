import Foundation
import Generation
import Tensor
import Tokenizer

/// A GPT-2 folder ready to generate: the model, its tokenizer and the defaults
/// of its generation_config.json. What the CLI and the server load.
public final class GPT2Pipeline: CausalLanguagePipeline, Sendable {
    public let directory: URL
    public let model: GPT2Model
    public let tokenizer: ByteLevelBPETokenizer
    public let generationConfig: GenerationConfigFile
    /// Milliseconds spent loading (config, tokenizer, weights).
    public let loadMilliseconds: Double

    /// Loads config.json, the weights, the tokenizer (tokenizer.json or vocab.json + merges.txt)
    /// and generation_config.json; unrelated files (optimizer.pt, trainer_state.json...) are ignored.
    public init(directory: URL, precision: WeightPrecision = .f32, cachePrecision: KVCachePrecision = .f32) throws {
        let start = DispatchTime.now()
        self.directory = directory
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory.path, isDirectory: &isDirectory), isDirectory.boolValue
        else {
            throw GPT2Error.configNotFound(path: directory.path)
        }
        model = try GPT2Model(directory: directory, precision: precision, cachePrecision: cachePrecision)
        tokenizer = try ByteLevelBPETokenizer.load(directory: directory)
        generationConfig = try GenerationConfigFile.load(directory: directory)
        loadMilliseconds = Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e6
    }

    /// transformers' defaults, overlaid with generation_config.json, with EOS
    /// from config.json when the generation config names none.
    public func defaultParameters() -> GenerationParameters {
        var parameters = generationConfig.defaults()
        if parameters.eosTokenIDs.isEmpty, let eos = model.config.eosTokenID { parameters.eosTokenIDs = [eos] }
        return parameters
    }

    // MARK: - CausalLanguagePipeline (encode(prompt:) and generate come with it)

    public var architecture: String { model.config.modelType }
    public var languageModel: CausalLanguageModel { model }
    public var textTokenizer: Tokenizer { tokenizer }
    public var bosTokenID: Int? { generationConfig.bosTokenID ?? model.config.bosTokenID }
    public var parameterCount: Int { model.parameterCount }
}
