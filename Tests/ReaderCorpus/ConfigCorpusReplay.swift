import Foundation

/// Replays one model kind's cases of configs.json (or any corpus of files read from a folder)
/// through a reader, for the config corpus tests of several targets.
public struct ConfigCorpusReplay {
    public private(set) var cases = 0
    public private(set) var disagreements: [String] = []
    /// Cases the reference accepts and we refuse on purpose, with our message.
    public private(set) var deliberate: [String] = []

    /// Writes each case of `kind` as `fileName` in a scratch folder and calls `load`, which returns
    /// the values read (compared with the reference's `values`) or throws. `classify` tells a
    /// thrown error apart: nil when it is not the reader's typed error, else whether it is a
    /// deliberate refusal; a typed refusal must name `fileName`.
    public init(
        _ corpus: ReaderCorpus, kind: String, fileName: String = "config.json",
        load: (URL) throws -> [String: Any?], classify: (Error) -> (deliberate: Bool, typed: Bool)
    ) throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent(
            "corpus-\(kind)-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        for item in corpus.cases where item.fields["kind"] as? String == kind {
            cases += 1
            try corpus.bytes(of: item).write(to: folder.appendingPathComponent(fileName))
            let label = "\(item.id) (\(item.mutation))"
            do {
                let ours = try load(folder)
                guard item.accepted else {
                    disagreements.append("\(label): loaded, the reference refuses it: \(item.referenceError ?? "")")
                    continue
                }
                if let mismatch = ConfigValues.firstMismatch(ours, item.fields["values"] as? [String: Any] ?? [:]) {
                    disagreements.append("\(label): \(mismatch)")
                }
            } catch {
                let kind = classify(error)
                if !kind.typed {
                    disagreements.append("\(label): not the reader's typed error: \(error)")
                } else if item.accepted, kind.deliberate {
                    deliberate.append("\(label): \(error)")
                } else if item.accepted {
                    disagreements.append("\(label): refused (\(error)), the reference loads it")
                } else if !"\(error)".contains(fileName) {
                    disagreements.append("\(label): the message does not name \(fileName): \(error)")
                }
            }
        }
    }

    /// One line for the test log, then the deliberate refusals.
    public var summary: String {
        "\(cases) cases, \(disagreements.count) disagreements, \(deliberate.count) refused as deliberately "
            + "unsupported:\n"
            + deliberate.joined(separator: "\n")
    }
}

/// Compares the values a config reader took with the ones the reference's config holds.
public enum ConfigValues {
    public static func firstMismatch(_ ours: [String: Any?], _ reference: [String: Any]) -> String? {
        for (key, value) in ours.sorted(by: { $0.key < $1.key }) {
            let expected = reference[key]
            let same: Bool
            switch (value, expected) {
            case (nil, is NSNull?), (nil, nil): same = true
            // Python's True is the integer 1; flags are compared for their truthiness.
            case (let v as Int, let e as NSNumber): same = e.doubleValue == Double(v)
            case (let v as Float, let e as NSNumber):
                same = abs(Double(v) - e.doubleValue) <= 1e-6 * max(1, abs(e.doubleValue))
            case (let v as Bool, let e as NSNumber): same = (e.doubleValue != 0) == v
            case (let v as Bool, let e as String): same = !e.isEmpty == v
            case (let v as Bool, let e as [Any]): same = !e.isEmpty == v
            case (let v as Bool, let e as [String: Any]): same = !e.isEmpty == v
            case (let v as Bool, is NSNull): same = !v
            case (let v as String, let e as String): same = v == e
            default: same = false
            }
            if !same {
                return
                    "\(key) is \(value.map { "\($0)" } ?? "null"), the reference has \(expected.map { "\($0)" } ?? "nothing")"
            }
        }
        return nil
    }
}

/// Writes `seed`, mutated `iterations` times, as `fileName` in a scratch folder and calls `load`
/// on it: returns how many were refused with the reader's typed error (`isTyped`) and the
/// descriptions of any other error.
public func fuzzFolderFile(
    _ fileName: String, seed: Data, mutatorSeed: UInt64, iterations: Int,
    load: (URL) throws -> Void, isTyped: (Error) -> Bool
) throws -> (refused: Int, untyped: [String]) {
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent("fuzz-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: folder) }
    var mutator = TextMutator(seed: mutatorSeed)
    var refused = 0
    var untyped: [String] = []
    for _ in 0..<iterations {
        try mutator.mutate(seed).write(to: folder.appendingPathComponent(fileName))
        do {
            try load(folder)
        } catch  where isTyped(error) {
            refused += 1
        } catch {
            untyped.append("\(type(of: error)): \(error)")
        }
    }
    return (refused, untyped)
}
