import Foundation

/// Why a folder could not be matched to an architecture.
public enum ModelFactoryError: Error, CustomStringConvertible, Equatable {
    /// The folder has no config.json.
    case configNotFound(path: String)
    /// config.json is not a JSON object.
    case configNotAnObject(path: String)
    /// config.json names no `model_type`.
    case missingModelType(path: String)
    /// No registered architecture reads this `model_type`; `supported` lists those that do.
    case unsupportedModelType(String, path: String?, supported: [String])
    /// The folder holds a model of another capability than the command needs; `typesWithNeeded`
    /// are the model types that have it.
    case wrongCapability(
        path: String, modelType: String, has: ModelCapability, needed: ModelCapability,
        typesWithNeeded: [String])

    public var description: String {
        switch self {
        case .configNotFound(let path):
            return "\(path): not found. A model folder is a Hugging Face model folder with its config.json."
        case .configNotAnObject(let path):
            return "\(path): not a JSON object."
        case .missingModelType(let path):
            return "\(path): has no \"model_type\"; cannot tell which model this is."
        case .unsupportedModelType(let type, let path, let supported):
            let place = path.map { "\($0): " } ?? ""
            return "\(place)model_type '\(type)' is not supported (supported: "
                + "\(supported.joined(separator: ", ")))."
        case .wrongCapability(let path, let type, let has, let needed, let typesWithNeeded):
            let advice = has == .translation ? "`translate` or `serve`" : "`generate`, `story` or `serve`"
            return "\(path) holds a \(has.rawValue) model (config.json model_type \(type)); this command needs a "
                + "\(needed.rawValue) model (model_type \(typesWithNeeded.joined(separator: " or "))). Use "
                + "\(advice) for it."
        }
    }
}
