import HTTPServer

/// A Prometheus histogram: cumulative bucket counts, sum and count.
struct Histogram {
    /// Upper bounds, ascending; `+Inf` is implicit.
    let bounds: [Double]
    private(set) var counts: [UInt64]
    private(set) var sum: Double = 0
    private(set) var count: UInt64 = 0

    init(bounds: [Double]) {
        self.bounds = bounds
        counts = [UInt64](repeating: 0, count: bounds.count)
    }

    mutating func observe(_ value: Double) {
        // Per-bucket counts; the exposition makes them cumulative.
        if let index = bounds.firstIndex(where: { value <= $0 }) { counts[index] += 1 }
        sum += value
        count += 1
    }

    /// (le, cumulative count) pairs, `+Inf` last.
    var cumulativeBuckets: [(String, UInt64)] {
        var running: UInt64 = 0
        var out: [(String, UInt64)] = []
        for (bound, n) in zip(bounds, counts) {
            running += n
            out.append((PrometheusText.number(bound), running))
        }
        out.append(("+Inf", count))
        return out
    }

    static let latencySeconds: [Double] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30]
    static let batchSizes: [Double] = [1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 64]
}

/// Helpers for the Prometheus text exposition format (version 0.0.4).
enum PrometheusText {
    /// `{a="x",b="y"}` with values escaped; empty for no labels.
    static func labels(_ pairs: [(String, String)]) -> String {
        guard !pairs.isEmpty else { return "" }
        return "{" + pairs.map { "\($0.0)=\"\(escape($0.1))\"" }.joined(separator: ",") + "}"
    }

    static func escape(_ value: String) -> String {
        value.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
            .replacingOccurrences(of: "\n", with: "\\n")
    }

    static func number(_ value: Double) -> String {
        if value == value.rounded(), abs(value) < 1e15 { return String(Int64(value)) }
        return String(value)
    }
}
