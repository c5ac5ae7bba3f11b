import Dispatch
import Foundation

/// SIGINT and SIGTERM for a long-running command: the first asks for a graceful stop, a second
/// one ends the process at once (exit 128 + the signal, as a shell reports it). SIGHUP never stops
/// the process (closing the terminal that started `serve` must not kill it): it calls `onHangUp`
/// when one is given (`serve` reloads its API key file, as `systemctl reload` asks), else it is
/// ignored.
///
/// The dispatch sources live as long as this object; keep it alive with `withExtendedLifetime`
/// for as long as signals should be handled (an optimized build releases an unused local early).
///
/// Sendable by hand: its state is only touched under `lock`; the signal sources are set up before it is
/// shared.
final class StopSignals: @unchecked Sendable {
    private let sources: [DispatchSourceSignal]
    private let hangUp: DispatchSourceSignal?
    private let stopRequested = DispatchSemaphore(value: 0)
    private let lock = NSLock()
    private var received: [Int32] = []

    /// Installs the handlers; `onSecondSignal` runs (on a dispatch queue) just before a second
    /// signal exits the process; `onHangUp` runs (on a serial queue, one call at a time) on each SIGHUP.
    init(onSecondSignal: @escaping @Sendable (Int32) -> Void = { _ in }, onHangUp: (@Sendable () -> Void)? = nil) {
        signal(SIGHUP, SIG_IGN)
        if let onHangUp {
            let source = DispatchSource.makeSignalSource(signal: SIGHUP, queue: DispatchQueue(label: "octavo.sighup"))
            source.setEventHandler(handler: onHangUp)
            source.resume()
            hangUp = source
        } else {
            hangUp = nil
        }
        var sources: [DispatchSourceSignal] = []
        let semaphore = stopRequested
        for number in [SIGINT, SIGTERM] {
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            sources.append(source)
        }
        self.sources = sources
        for (source, number) in zip(sources, [SIGINT, SIGTERM]) {
            source.setEventHandler { [unowned self] in
                let count = self.record(number)
                if count == 1 {
                    semaphore.signal()
                } else {
                    onSecondSignal(number)
                    exit(128 + number)
                }
            }
            source.resume()
        }
    }

    private func record(_ number: Int32) -> Int {
        lock.lock()
        defer { lock.unlock() }
        received.append(number)
        return received.count
    }

    /// Blocks until the first SIGINT or SIGTERM and returns its name.
    func waitForStop() -> String {
        stopRequested.wait()
        lock.lock()
        defer { lock.unlock() }
        return received.first == SIGINT ? "SIGINT" : "SIGTERM"
    }

    deinit {
        for source in sources { source.cancel() }
        hangUp?.cancel()
    }
}
