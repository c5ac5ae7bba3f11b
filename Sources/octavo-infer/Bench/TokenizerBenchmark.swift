import Foundation
import Tokenizer

/// Tokenizer speed on a text: load time, encode MB/s (the text as one string, and line by
/// line like prompts), decode MB/s. Timed in thread CPU time, which a busy machine
/// disturbs less than wall time.
struct TokenizerBenchmark {
    struct Report: Encodable {
        let tokenizer: String
        let text_mb: Double
        let load_ms: Double
        let encode_mb_per_s: Double
        let encode_lines_mb_per_s: Double
        let decode_mb_per_s: Double
        let ids: Int
    }

    static func run(directory: URL, text: String) throws -> Report {
        var start = threadCPUSeconds()
        let folder = try FolderTokenizer.load(directory)
        let loadSeconds = threadCPUSeconds() - start
        let tokenizer = folder.tokenizer
        let megabytes = Double(text.utf8.count) / 1_000_000

        start = threadCPUSeconds()
        let ids = tokenizer.encode(text)
        let whole = threadCPUSeconds() - start

        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        start = threadCPUSeconds()
        var count = 0
        for line in lines { count += tokenizer.encode(line).count }
        let byLine = threadCPUSeconds() - start

        start = threadCPUSeconds()
        _ = tokenizer.decode(ids, skipSpecialTokens: false)
        let decode = threadCPUSeconds() - start
        let kind: String
        switch folder {
        case .byteLevel: kind = "byte-level BPE"
        case .nllb: kind = "NLLB SentencePiece"
        }
        return Report(
            tokenizer: kind, text_mb: megabytes, load_ms: loadSeconds * 1000, encode_mb_per_s: megabytes / whole,
            encode_lines_mb_per_s: megabytes / max(byLine, 1e-9), decode_mb_per_s: megabytes / max(decode, 1e-9),
            ids: ids.count)
    }

    static func threadCPUSeconds() -> Double {
        var time = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &time)
        return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
    }
}
