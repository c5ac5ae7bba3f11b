import Foundation

/// Which instructions the int8 matrix products run on, chosen once per process from what
/// the CPU reports. Every kernel computes the same integer sums, so the choice changes
/// speed, never a result.
///
/// `OCTAVO_INT8_KERNEL=avx2` forces the AVX2 kernel on a VNNI machine (to compare them, or
/// to work around a hypervisor that reports instructions it traps on).
public enum Int8Kernel: String, Sendable, CaseIterable, CustomStringConvertible {
    /// int8 widened to int16 and multiply-added in pairs (AVX2's vpmovsxbw + vpmaddwd; plain
    /// loops the compiler vectorizes on other CPUs). Runs everywhere.
    case avx2
    /// vpdpbusd (AVX-512 VNNI): 32 products per instruction on 256-bit registers, 64 on the
    /// 512-bit ones the prompt tiles use; activations stored as unsigned bytes. Zen 4, Ice
    /// Lake, Sapphire Rapids and later.
    case avx512VNNI = "avx512-vnni"

    public var description: String { rawValue }

    /// Whether this CPU (and the OS, which hides AVX-512 flags when it does not save the
    /// registers) can run the kernel.
    public var isSupported: Bool {
        switch self {
        case .avx2: return true
        case .avx512VNNI: return CPUFeatures.hasAVX512 && CPUFeatures.has(["avx512_vnni"])
        }
    }

    /// The kernels this machine can run, fastest last.
    public static var supported: [Int8Kernel] { allCases.filter(\.isSupported) }

    /// The kernel `Linear` uses: the fastest supported one, unless `OCTAVO_INT8_KERNEL`
    /// names another supported kernel.
    public static let selected: Int8Kernel = {
        if let name = ProcessInfo.processInfo.environment["OCTAVO_INT8_KERNEL"] {
            if let kernel = Int8Kernel(rawValue: name), kernel.isSupported { return kernel }
            let names = supported.map(\.rawValue).joined(separator: ", ")
            FileHandle.standardError.write(
                Data(
                    "octavo: OCTAVO_INT8_KERNEL=\(name) is not a kernel this CPU runs (\(names)); using \(supported.last!)\n"
                        .utf8))
        }
        return supported.last!
    }()

    /// Bytes each quantized activation takes in the form the kernel reads.
    public var bytesPerActivation: Int { self == .avx2 ? 2 : 1 }
}
