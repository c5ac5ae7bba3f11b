import XCTest

@testable import octavo_infer

/// Progress output on a fake clock: in place on a terminal, throttled in logs, silent when quiet.
final class DownloadProgressTests: XCTestCase {
    final class Recorder: @unchecked Sendable {
        var text = ""
        var time = 0.0
    }

    func progress(_ style: DownloadProgress.Style, _ recorder: Recorder) -> DownloadProgress {
        DownloadProgress(style: style, logInterval: 5, write: { recorder.text += $0 }, now: { recorder.time })
    }

    /// To 100 MB at `step` bytes per half second (10 MB/s by default).
    func transfer(_ progress: DownloadProgress, _ recorder: Recorder, from start: Int64 = 0, step: Int64 = 5_000_000) {
        progress.begin(file: "model.safetensors", resumingAt: start, total: 100_000_000)
        var done = start
        while done < 100_000_000 {
            recorder.time += 0.5
            done = min(done + step, 100_000_000)
            progress.update(done: done, total: 100_000_000)
        }
        progress.finish()
    }

    func testTerminalRedrawsOneLineInPlace() {
        let recorder = Recorder()
        transfer(progress(.terminal, recorder), recorder)
        XCTAssertEqual(recorder.text.filter { $0 == "\n" }.count, 1, "one line, ended once")
        XCTAssertEqual(recorder.text.filter { $0 == "\r" }.count, 20)
        XCTAssertTrue(
            recorder.text.contains("\rmodel.safetensors  50.0 MB / 100.0 MB  10.0 MB/s  5 s left"), recorder.text)
        let last = recorder.text.split(separator: "\r").last.map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }
        XCTAssertEqual(
            last, "model.safetensors  100.0 MB / 100.0 MB  10.0 MB/s", "the shorter last line blanks the longer one")
        XCTAssertTrue(recorder.text.hasSuffix(" \n"), recorder.text)
    }

    func testLogsALineEveryFewSecondsAtMost() {
        let recorder = Recorder()
        transfer(progress(.log, recorder), recorder)
        let lines = recorder.text.split(separator: "\n")
        XCTAssertEqual(
            lines,
            [
                "model.safetensors  50.0 MB / 100.0 MB  10.0 MB/s  5 s left",
                "model.safetensors  100.0 MB / 100.0 MB  10.0 MB/s",
            ])
        XCTAssertFalse(recorder.text.contains("\r"))
    }

    func testResumeIsAnnouncedAndTheRateCountsOnlyNewBytes() {
        let recorder = Recorder()
        transfer(progress(.log, recorder), recorder, from: 60_000_000, step: 2_500_000)
        let lines = recorder.text.split(separator: "\n")
        XCTAssertEqual(lines.first, "model.safetensors: resuming at 60.0 MB of 100.0 MB")
        XCTAssertEqual(lines.dropFirst().first, "model.safetensors  85.0 MB / 100.0 MB  5.0 MB/s  3 s left")
    }

    func testQuietPrintsNothing() {
        let recorder = Recorder()
        let quiet = progress(.quiet, recorder)
        quiet.say("weights: safetensors")
        transfer(quiet, recorder, from: 10)
        XCTAssertEqual(recorder.text, "")
    }
}
