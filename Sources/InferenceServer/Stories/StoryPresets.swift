import Foundation
import HTTPServer

/// How a story is sampled for one audience.
public struct StoryPreset: Sendable, Equatable, Codable {
    public var topP: Float
    public var temperature: Float
    public var repetitionPenalty: Float
    /// Prompt included, as the old services counted it.
    public var maxLength: Int

    enum CodingKeys: String, CodingKey {
        case topP = "top_p"
        case temperature
        case repetitionPenalty = "repetition_penalty"
        case maxLength = "max_length"
    }
}

/// The audiences a story model writes for and their sampling settings: the one table every
/// story path reads (`/generate_story`, `/v1/stories`, story jobs, `octavo-infer story`).
///
/// A model folder may bring its own as `story_presets.json`, an object from audience name to
/// `{"top_p", "temperature", "repetition_penalty", "max_length"}`; it replaces the table.
public struct StoryPresets: Sendable, Equatable {
    /// The old services' presets (sampling on, top_k from the model's defaults).
    public static let standard = StoryPresets(
        presets: [
            "children": StoryPreset(topP: 0.9, temperature: 1.0, repetitionPenalty: 1.2, maxLength: 500),
            "young": StoryPreset(topP: 0.7, temperature: 0.7, repetitionPenalty: 1.2, maxLength: 500),
            "adult": StoryPreset(topP: 0.5, temperature: 0.3, repetitionPenalty: 1.2, maxLength: 500),
        ], fallback: "adult")

    /// The file a model folder may hold.
    public static let fileName = "story_presets.json"

    public let presets: [String: StoryPreset]
    /// The audience used when none is given (and, on `/generate_story`, for unknown ones).
    public let fallback: String

    /// Audience names, sorted, for error messages.
    public var names: [String] { presets.keys.sorted() }

    /// The preset for `audience` (any case), or nil when it is not one.
    public func preset(named audience: String) -> StoryPreset? {
        presets[audience.lowercased()]
    }

    /// The folder's `story_presets.json`, else the standard table.
    public static func forModelFolder(_ directory: URL) throws -> StoryPresets {
        let url = directory.appendingPathComponent(fileName)
        guard FileManager.default.fileExists(atPath: url.path) else { return .standard }
        let decoded: [String: StoryPreset]
        do {
            decoded = try JSONDecoder().decode([String: StoryPreset].self, from: Data(contentsOf: url))
        } catch {
            throw StoryPresetsError.malformed(path: url.path, reason: "\(error)")
        }
        guard !decoded.isEmpty else {
            throw StoryPresetsError.malformed(path: url.path, reason: "it names no audience")
        }
        for (name, preset) in decoded {
            guard preset.topP > 0, preset.topP <= 1, preset.temperature >= 0, preset.repetitionPenalty > 0,
                preset.maxLength > 0
            else {
                throw StoryPresetsError.malformed(
                    path: url.path,
                    reason: "audience '\(name)' has a value out of "
                        + "range "
                        + "(top_p in (0, 1], temperature >= 0, repetition_penalty > 0, max_length > 0)")
            }
        }
        let lowered = Dictionary(
            decoded.map { ($0.key.lowercased(), $0.value) }, uniquingKeysWith: { first, _ in first })
        return StoryPresets(presets: lowered, fallback: lowered["adult"] != nil ? "adult" : lowered.keys.sorted()[0])
    }
}

/// A model folder's `story_presets.json` that cannot be used.
public enum StoryPresetsError: Error, CustomStringConvertible, Equatable {
    case malformed(path: String, reason: String)

    public var description: String {
        switch self {
        case .malformed(let path, let reason):
            return "\(path): not a valid story presets file (\(reason)). Fix it or remove it to use the standard "
                + "presets."
        }
    }
}
