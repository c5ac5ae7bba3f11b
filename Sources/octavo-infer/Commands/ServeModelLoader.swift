import Foundation
import Generation
import InferenceServer
import NLLB
import Tensor

/// Which kind of model a folder holds, and the translation backends this build can load.
enum ServeModelLoader {
    /// config.json's `model_type` (`gpt2`, `m2m_100`...).
    static func modelType(of directory: URL) throws -> String {
        let url = directory.appendingPathComponent("config.json")
        guard let data = FileManager.default.contents(atPath: url.path) else {
            throw CLIError.runtime("\(url.path): not found. Each --model must be a Hugging Face model folder with a config.json.")
        }
        guard let object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
            throw CLIError.runtime("\(url.path): not a JSON object.")
        }
        guard let type = object["model_type"] as? String else {
            throw CLIError.runtime("\(url.path): has no \"model_type\"; cannot tell which model this is.")
        }
        return type
    }

    /// The translation backend for a folder (NLLB-200 / M2M100).
    static func translationBackend(modelType: String, directory: URL, precision: WeightPrecision = .f32,
                                   cachePrecision: KVCachePrecision = .f32, vocabularyMap: URL? = nil) throws -> TranslationBackend {
        switch modelType {
        case "m2m_100":
            do {
                return NLLBTranslationBackend(pipeline: try NLLBPipeline(directory: directory, precision: precision, cachePrecision: cachePrecision,
                                                                                vocabularyMap: vocabularyMap))
            } catch {
                throw CLIError.runtime("cannot load \(directory.path): \(error)")
            }
        default:
            throw CLIError.runtime("\(directory.path): model_type '\(modelType)' is not supported (supported: gpt2, m2m_100).")
        }
    }
}
