import Foundation

/// Reports a transfer on stderr: on a terminal one line redrawn in place (file, bytes done /
/// total, rate, time left); otherwise, for logs, a line every few seconds at most; nothing when quiet.
///
/// Sendable by hand: every mutable field is read and written under `lock`.
final class DownloadProgress: @unchecked Sendable {
    enum Style {
        case terminal
        case log
        case quiet
    }

    let style: Style
    /// Seconds between two lines in `.log` style.
    let logInterval: Double
    private let write: (String) -> Void
    private let now: () -> Double
    private let lock = NSLock()
    private var file = ""
    private var startOffset: Int64 = 0
    /// The first bytes' arrival: the rate is measured from here, leaving out the connection's latency.
    private var baseline: (time: Double, done: Int64)?
    private var lastLine = -Double.infinity
    private var lastWidth = 0
    private var drawn = false

    init(
        style: Style, logInterval: Double = 5, write: @escaping (String) -> Void = DownloadProgress.standardError,
        now: @escaping () -> Double = DownloadProgress.monotonicSeconds
    ) {
        self.style = style
        self.logInterval = logInterval
        self.write = write
        self.now = now
    }

    /// `.terminal` when stderr is a terminal, `.log` otherwise, `.quiet` when asked.
    static func forStandardError(quiet: Bool) -> DownloadProgress {
        DownloadProgress(style: quiet ? .quiet : (isatty(STDERR_FILENO) != 0 ? .terminal : .log))
    }

    /// A message line (what is fetched and why); silent when quiet.
    func say(_ line: String) {
        guard style != .quiet else { return }
        write(line + "\n")
    }

    func begin(file: String, resumingAt offset: Int64, total: Int64?) {
        lock.lock()
        defer { lock.unlock() }
        self.file = file
        startOffset = offset
        baseline = nil
        lastLine = now()
        drawn = false
        lastWidth = 0
        if offset > 0 && style != .quiet {
            let of = total.map { String(format: " of %.1f MB", Double($0) / 1e6) } ?? ""
            write(String(format: "%@: resuming at %.1f MB", file, Double(offset) / 1e6) + of + "\n")
        }
    }

    func update(done: Int64, total: Int64?) {
        lock.lock()
        defer { lock.unlock() }
        let time = now()
        if baseline == nil && done > startOffset { baseline = (time, done) }
        switch style {
        case .quiet:
            return
        case .terminal:
            let line = status(done: done, total: total, time: time)
            write("\r" + line + String(repeating: " ", count: max(0, lastWidth - line.count)))
            lastWidth = line.count
            drawn = true
        case .log:
            guard time - lastLine >= logInterval else { return }
            lastLine = time
            write(status(done: done, total: total, time: time) + "\n")
        }
    }

    /// Ends the in-place line, if one was drawn.
    func finish() {
        lock.lock()
        defer { lock.unlock() }
        if style == .terminal && drawn { write("\n") }
        drawn = false
    }

    /// `model.safetensors  120.5 MB / 548.1 MB  42.0 MB/s  10 s left`
    func status(done: Int64, total: Int64?, time: Double) -> String {
        var parts = [file, decimalBytes(done) + (total.map { " / " + decimalBytes($0) } ?? "")]
        guard let baseline, time > baseline.time else { return parts.joined(separator: "  ") }
        let rate = Double(done - baseline.done) / (time - baseline.time)
        parts.append(decimalBytes(Int64(rate)) + "/s")
        if let total, rate > 0, done < total { parts.append(duration(Double(total - done) / rate) + " left") }
        return parts.joined(separator: "  ")
    }

    static func standardError(_ text: String) { FileHandle.standardError.write(Data(text.utf8)) }

    static func monotonicSeconds() -> Double { Double(DispatchTime.now().uptimeNanoseconds) / 1e9 }
}

/// Sizes as the hub shows them: decimal units, one decimal.
func decimalBytes(_ bytes: Int64) -> String {
    let units = ["B", "kB", "MB", "GB", "TB"]
    var value = Double(bytes)
    var unit = 0
    while value >= 1000 && unit < units.count - 1 {
        value /= 1000
        unit += 1
    }
    return unit == 0 ? "\(bytes) B" : String(format: "%.1f %@", value, units[unit])
}

private func duration(_ seconds: Double) -> String {
    guard seconds.isFinite else { return "?" }
    let s = Int(seconds.rounded(.up))
    if s < 60 { return "\(s) s" }
    if s < 3600 { return "\(s / 60) min \(s % 60) s" }
    return "\(s / 3600) h \(s % 3600 / 60) min"
}
