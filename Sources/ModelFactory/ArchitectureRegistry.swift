import Foundation

/// The architectures this build reads, keyed by config.json's `model_type` (what
/// mlx-swift-lm's `LLMModelFactory` does). Adding an architecture is one line in `standard`.
public struct ArchitectureRegistry: Sendable {
    /// Every architecture `octavo-infer` and its server load.
    public static let standard = ArchitectureRegistry([
        GPT2Architecture(),
        M2M100Architecture(),
    ])

    public let architectures: [any ModelArchitecture]

    public init(_ architectures: [any ModelArchitecture]) {
        self.architectures = architectures
    }

    /// The `model_type`s registered, in registration order.
    public var modelTypes: [String] { architectures.map(\.modelType) }

    /// The architecture reading `modelType`, or `ModelFactoryError.unsupportedModelType`
    /// listing the known ones (`path` names the config in the message).
    public func architecture(for modelType: String, path: String? = nil) throws -> any ModelArchitecture {
        guard let architecture = architectures.first(where: { $0.modelType == modelType }) else {
            throw ModelFactoryError.unsupportedModelType(modelType, path: path, supported: modelTypes)
        }
        return architecture
    }

    /// The architecture of a model folder, by its config.json's `model_type`.
    public func architecture(of directory: URL) throws -> any ModelArchitecture {
        try architecture(for: Self.modelType(of: directory), path: directory.path)
    }

    /// The architecture of a model folder, which must have `capability` (else
    /// `ModelFactoryError.wrongCapability`, naming the model types that have it).
    public func architecture(of directory: URL, with capability: ModelCapability) throws -> any ModelArchitecture {
        let architecture = try architecture(of: directory)
        guard architecture.capability == capability else {
            throw ModelFactoryError.wrongCapability(
                path: directory.path, modelType: architecture.modelType, has: architecture.capability,
                needed: capability,
                typesWithNeeded: architectures.filter { $0.capability == capability }.map(\.modelType))
        }
        return architecture
    }

    /// Loads a model folder with its architecture's loader.
    public func load(directory: URL, options: ModelLoadOptions = ModelLoadOptions()) throws -> LoadedModel {
        try architecture(of: directory).load(directory: directory, options: options)
    }

    /// config.json's `model_type`, read without checking the rest (each architecture's
    /// config reader checks the whole file).
    public static func modelType(of directory: URL) throws -> String {
        let url = directory.appendingPathComponent("config.json")
        guard let data = FileManager.default.contents(atPath: url.path) else {
            throw ModelFactoryError.configNotFound(path: url.path)
        }
        guard let object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
            throw ModelFactoryError.configNotAnObject(path: url.path)
        }
        guard let type = object["model_type"] as? String else {
            throw ModelFactoryError.missingModelType(path: url.path)
        }
        return type
    }
}
