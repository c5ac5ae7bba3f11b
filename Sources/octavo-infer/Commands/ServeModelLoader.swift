import Foundation
import InferenceServer
import ModelFactory

/// The server's side of a translation model folder: the backend its executor drives.
enum ServeModelLoader {
    /// The translation backend for a translation model folder (NLLB-200 / M2M100).
    static func translationBackend(directory: URL, options: ModelLoadOptions = ModelLoadOptions()) throws
        -> TranslationBackend
    {
        do {
            return NLLBTranslationBackend(pipeline: try ModelFolder.loadTranslation(directory, options: options))
        } catch let error as ModelFactoryError {
            throw CLIError.runtime(error.description)
        } catch {
            throw CLIError.runtime("cannot load \(directory.path): \(error)")
        }
    }
}
