import Foundation

/// What the CPU (and the OS, which hides AVX-512 flags when it does not save the registers)
/// lets the kernels use, read once per process.
enum CPUFeatures {
    /// The `flags` line of /proc/cpuinfo: Linux lists there only what the kernel enabled.
    static let flags: Set<Substring> = {
        #if arch(x86_64) && os(Linux)
            guard let info = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
                let line = info.split(separator: "\n").first(where: { $0.hasPrefix("flags") }),
                let colon = line.firstIndex(of: ":")
            else { return [] }
            return Set(line[line.index(after: colon)...].split(separator: " "))
        #else
            return []
        #endif
    }()

    static func has(_ names: Set<Substring>) -> Bool { flags.isSuperset(of: names) }

    /// What Sources/X86AVX512 is compiled for.
    static let hasAVX512 = has(["avx512f", "avx512bw", "avx512vl"])

    /// Whether prompts go through the unpacked AVX-512 f32 kernel rather than sgemm for
    /// GPT-2's [in, out] matrices: when the CPU has AVX-512, unless `OCTAVO_F32_GEMM=openblas`
    /// (to compare them).
    static let useUnpackedProduct = hasAVX512 && ProcessInfo.processInfo.environment["OCTAVO_F32_GEMM"] != "openblas"
}
