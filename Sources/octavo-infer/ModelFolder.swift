import Foundation
import Generation
import ModelFactory
import NLLB

/// Opening a model folder from the command line: its architecture comes from the model
/// factory's registry (config.json's `model_type`); a command that needs one capability
/// refuses a folder of the other with one line saying which command fits.
enum ModelFolder {
    static let registry = ArchitectureRegistry.standard

    static func architecture(of directory: URL) throws -> any ModelArchitecture {
        try registry.architecture(of: directory)
    }

    /// A causal language model folder (`generate`, `story`, `serve`'s generation models).
    static func loadCausal(_ directory: URL, options: ModelLoadOptions = ModelLoadOptions()) throws
        -> any CausalLanguagePipeline
    {
        let architecture = try registry.architecture(of: directory, with: .causalGeneration)
        guard case .causalGeneration(let pipeline) = try architecture.load(directory: directory, options: options)
        else {
            preconditionFailure("\(architecture.modelType) loaded as another capability than it declares")
        }
        return pipeline
    }

    /// A translation model folder (`translate`, `serve`'s translation models).
    static func loadTranslation(_ directory: URL, options: ModelLoadOptions = ModelLoadOptions()) throws -> NLLBPipeline
    {
        let architecture = try registry.architecture(of: directory, with: .translation)
        guard case .translation(let pipeline) = try architecture.load(directory: directory, options: options) else {
            preconditionFailure("\(architecture.modelType) loaded as another capability than it declares")
        }
        return pipeline
    }

    /// Whether the folder holds only tokenizer files (tokenize/detokenize need no weights).
    static func tokenizerOnly(_ directory: URL) -> Bool {
        !FileManager.default.fileExists(atPath: directory.appendingPathComponent("config.json").path)
    }
}
