import Foundation
import Tokenizer

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

    /// Parses the file with transformers' meaning (`ConfigJSON`: the last of two equal keys
    /// wins, true/false are 1/0) and the checks `GenerationConfig.validate` makes at load
    /// (early_stopping, max_new_tokens > 0, a comparable pad_token_id, num_return_sequences
    /// against num_beams). A value of another kind than the one used is refused on purpose.
    public static func parse(_ data: Data, path: String) throws -> GenerationConfigFile {
        let file: ConfigJSON
        do {
            file = try ConfigJSON(data: data, path: path)
        } catch let fault as ConfigJSON.Fault {
            throw GenerationError.malformedGenerationConfig(path: path, reason: fault.reason)
        }
        func malformed(_ reason: String) -> GenerationError { .malformedGenerationConfig(path: path, reason: reason) }
        func unsupported(_ key: String, _ value: JSONValue) -> GenerationError {
            let shown: String
            if case .double(let n) = value { shown = "\(n), not an integer" } else { shown = value.kindName }
            return malformed(
                "\(key) is \(shown), which Octavo Infer deliberately does not take (transformers "
                    + "keeps such a "
                    + "value and fails only when generating)")
        }
        func number(_ key: String) throws -> Double? {
            switch file[key] {
            case nil, .null?: return nil
            case .integer(let n)?: return Double(n)
            case .double(let n)?: return n
            case .bool(let b)?: return b ? 1 : 0
            case let other?: throw unsupported(key, other)
            }
        }
        func integer(_ key: String) throws -> Int? {
            switch file[key] {
            case nil, .null?: return nil
            case .integer(let n)?: return n
            case .bool(let b)?: return b ? 1 : 0
            case let other?: throw unsupported(key, other)
            }
        }
        func boolean(_ key: String) throws -> Bool? {
            switch file[key] {
            case nil, .null?: return nil
            case .bool(let b)?: return b
            case let other?: throw unsupported(key, other)
            }
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
        config.bosTokenID = try integer("bos_token_id")
        config.decoderStartTokenID = try integer("decoder_start_token_id")
        config.forcedBOSTokenID = try integer("forced_bos_token_id")
        config.numBeams = try integer("num_beams")
        config.lengthPenalty = try number("length_penalty").map(Float.init)

        // validate(): `max_new_tokens <= 0` raises, and so does comparing a string or a list.
        switch file["max_new_tokens"] {
        case nil, .null?: break
        case .integer, .double, .bool:
            guard let value = try number("max_new_tokens"), value > 0 else {
                throw malformed("max_new_tokens must be greater than 0")
            }
            config.maxNewTokens = try integer("max_new_tokens")
        case let other?: throw malformed("max_new_tokens is \(other.kindName), not a number")
        }
        // validate(): `pad_token_id < 0` is compared (a warning), so it must be a number.
        switch file["pad_token_id"] {
        case nil, .null?, .integer?, .bool?: config.padTokenID = try integer("pad_token_id")
        case .double?: throw unsupported("pad_token_id", file["pad_token_id"]!)
        case let other?: throw malformed("pad_token_id is \(other.kindName), not a number")
        }
        // validate(): early_stopping in {True, False, "never"}, where Python's 1 == True and 0 == False.
        switch file["early_stopping"] {
        case nil: break
        case .string("never")?: config.earlyStopping = .never
        case .bool(let b)?: config.earlyStopping = b ? .whenBeamsFull : .heuristic
        case .integer(let n)? where n == 0 || n == 1: config.earlyStopping = n == 1 ? .whenBeamsFull : .heuristic
        case .double(let n)? where n == 0 || n == 1: config.earlyStopping = n == 1 ? .whenBeamsFull : .heuristic
        case let other?: throw malformed("early_stopping is \(other.kindName); expected true, false or \"never\"")
        }
        // validate(): more returned sequences than beams, or several from greedy search, raise.
        if case .integer(let sequences)? = file["num_return_sequences"], sequences != 1 {
            let beams = config.numBeams ?? 1
            if beams == 1, config.doSample == false || file["do_sample"] == nil {
                throw malformed("num_return_sequences \(sequences) needs sampling or beam search")
            } else if beams != 1, sequences > beams {
                throw malformed("num_return_sequences \(sequences) is more than num_beams \(beams)")
            }
        }
        switch file["eos_token_id"] {
        case nil, .null?: break
        case .array(let list)?:
            config.eosTokenIDs = try list.map {
                switch $0 {
                case .integer(let n): return n
                case .bool(let b): return b ? 1 : 0
                default: throw unsupported("eos_token_id", $0)
                }
            }
        default: config.eosTokenIDs = try integer("eos_token_id").map { [$0] }
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
