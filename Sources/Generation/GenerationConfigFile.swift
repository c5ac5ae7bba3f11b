import Foundation

/// A model folder's `generation_config.json`: the defaults its authors chose.
///
/// Only what the file states is recorded; `apply(to:)` overlays it on top of
/// transformers' own defaults (top_k 50, max_length 20, greedy...).
public struct GenerationConfigFile: Sendable, Equatable {
    public var doSample: Bool?
    public var temperature: Float?
    public var topK: Int?
    public var topP: Float?
    public var minP: Float?
    public var repetitionPenalty: Float?
    public var noRepeatNgramSize: Int?
    public var maxLength: Int?
    public var maxNewTokens: Int?
    public var eosTokenIDs: [Int]?
    public var bosTokenID: Int?
    public var padTokenID: Int?
    public var decoderStartTokenID: Int?
    public var forcedBOSTokenID: Int?
    public var numBeams: Int?
    public var lengthPenalty: Float?
    public var earlyStopping: BeamEarlyStopping?

    public init() {}

    /// Reads `generation_config.json` from a model folder; a missing file gives an empty config.
    public static func load(directory: URL) throws -> GenerationConfigFile {
        let url = directory.appendingPathComponent("generation_config.json")
        guard FileManager.default.fileExists(atPath: url.path) else { return GenerationConfigFile() }
        return try parse(Data(contentsOf: url), path: url.path)
    }

    public static func parse(_ data: Data, path: String) throws -> GenerationConfigFile {
        guard let object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
            throw GenerationError.malformedGenerationConfig(path: path, reason: "not a JSON object")
        }
        func number(_ key: String) throws -> Double? {
            guard let value = object[key], !(value is NSNull) else { return nil }
            guard let n = value as? NSNumber, String(cString: n.objCType) != "c" else {
                throw GenerationError.malformedGenerationConfig(path: path, reason: "\(key) is not a number")
            }
            return n.doubleValue
        }
        func integer(_ key: String) throws -> Int? {
            guard let d = try number(key) else { return nil }
            guard d == d.rounded(), abs(d) < 1e15 else {
                throw GenerationError.malformedGenerationConfig(path: path, reason: "\(key) is not an integer")
            }
            return Int(d)
        }
        func boolean(_ key: String) throws -> Bool? {
            guard let value = object[key], !(value is NSNull) else { return nil }
            if let n = value as? NSNumber, String(cString: n.objCType) == "c" { return n.boolValue }
            throw GenerationError.malformedGenerationConfig(path: path, reason: "\(key) is not true or false")
        }
        var config = GenerationConfigFile()
        config.doSample = try boolean("do_sample")
        config.temperature = try number("temperature").map(Float.init)
        config.topK = try integer("top_k")
        config.topP = try number("top_p").map(Float.init)
        config.minP = try number("min_p").map(Float.init)
        config.repetitionPenalty = try number("repetition_penalty").map(Float.init)
        config.noRepeatNgramSize = try integer("no_repeat_ngram_size")
        config.maxLength = try integer("max_length")
        config.maxNewTokens = try integer("max_new_tokens")
        config.bosTokenID = try integer("bos_token_id")
        config.padTokenID = try integer("pad_token_id")
        config.decoderStartTokenID = try integer("decoder_start_token_id")
        config.forcedBOSTokenID = try integer("forced_bos_token_id")
        config.numBeams = try integer("num_beams")
        config.lengthPenalty = try number("length_penalty").map(Float.init)
        // transformers allows true, false and "never" (which differs from false with a positive length penalty).
        if let value = object["early_stopping"], !(value is NSNull) {
            if let s = value as? String {
                guard s == "never" else {
                    throw GenerationError.malformedGenerationConfig(path: path, reason: "early_stopping is \"\(s)\"; expected true, false or \"never\"")
                }
                config.earlyStopping = .never
            } else {
                config.earlyStopping = try boolean("early_stopping").map { $0 ? .whenBeamsFull : .heuristic }
            }
        }
        if let value = object["eos_token_id"], !(value is NSNull) {
            if let list = value as? [Any] {
                config.eosTokenIDs = try list.map {
                    guard let n = $0 as? NSNumber else {
                        throw GenerationError.malformedGenerationConfig(path: path, reason: "eos_token_id list holds a non-number")
                    }
                    return n.intValue
                }
            } else {
                config.eosTokenIDs = try integer("eos_token_id").map { [$0] }
            }
        }
        return config
    }

    /// transformers' defaults overlaid with what the file states.
    public func defaults() -> GenerationParameters {
        var p = GenerationParameters()
        p.doSample = doSample ?? false
        p.temperature = temperature ?? 1
        p.topK = topK ?? 50
        p.topP = topP ?? 1
        p.minP = minP ?? 0
        p.repetitionPenalty = repetitionPenalty ?? 1
        p.noRepeatNgramSize = noRepeatNgramSize ?? 0
        p.maxNewTokens = maxNewTokens
        p.maxLength = maxNewTokens == nil ? maxLength : nil
        p.eosTokenIDs = eosTokenIDs ?? []
        return p
    }
}
