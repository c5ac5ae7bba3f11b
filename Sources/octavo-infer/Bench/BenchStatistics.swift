import Foundation

/// min / median / max of repeated measurements (medians are what to quote on a noisy machine).
struct Summary: Encodable {
    let min: Double
    let median: Double
    let max: Double

    init(_ values: [Double]) {
        let sorted = values.sorted()
        min = sorted.first ?? 0
        max = sorted.last ?? 0
        median =
            sorted.isEmpty
            ? 0
            : (sorted.count % 2 == 1
                ? sorted[sorted.count / 2] : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2)
    }

    var text: String { String(format: "%.2f (min %.2f, max %.2f)", median, min, max) }
}

/// Peak resident memory of this process so far, in MiB (Linux reports ru_maxrss in KiB).
func peakResidentMiB() -> Double {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    return Double(usage.ru_maxrss) / 1024
}

func elapsedMilliseconds(since start: DispatchTime) -> Double {
    Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e6
}

/// Deterministic token ids for benchmark prompts (the content does not matter, the count does).
func benchmarkPrompt(count: Int, vocabularySize: Int, seed: UInt64) -> [Int] {
    var state = seed
    return (0..<count).map { _ in
        state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
        return Int((state >> 33) % UInt64(max(1, vocabularySize - 1)))
    }
}
