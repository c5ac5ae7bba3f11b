// swift-tools-version:6.0
import PackageDescription

// Kernels are only fast with the CPU's vector features turned on: without FMA,
// `addingProduct` becomes a libm call per lane, and without F16C half floats
// convert in software.
#if arch(x86_64)
    let kernelFlags: [SwiftSetting] = [.unsafeFlags(["-Xcc", "-mavx2", "-Xcc", "-mfma", "-Xcc", "-mf16c"])]
#else
    let kernelFlags: [SwiftSetting] = []
#endif

// The Kernels target is built -Ounchecked in release: with -O the stdlib's generic SIMD
// integer conversions (Int8 -> Int16 lanes) stay out-of-line calls and the int8 kernels
// lose vpmovsxbw/vpmaddwd. Only the hot loops live there; Tensor, which reads checkpoints,
// keeps its checks (-O).
//
// -force-vector-width=16: the int8 dot product (QuantizedMatVec.swift) is a plain loop that
// LLVM vectorizes into vpmovsxbw + vpmaddwd at 16 lanes; its cost model picks 8 lanes, where
// each vpmaddwd does half the work. Measured on GPT-2 int8 decode: see that file.
#if arch(x86_64)
    let vectorWidthFlags: [SwiftSetting] = [.unsafeFlags(["-Xllvm", "-force-vector-width=16"])]
#else
    let vectorWidthFlags: [SwiftSetting] = []
#endif
let kernelTargetFlags: [SwiftSetting] =
    kernelFlags + vectorWidthFlags + [.unsafeFlags(["-Ounchecked"], .when(configuration: .release))]

// X86Intrinsics names vpmaddwd through the compiler's Builtin module, which only a module
// compiled with -parse-stdlib can see (Sources/X86Intrinsics/PackedInt16.swift says why).
let intrinsicsFlags: [SwiftSetting] = kernelFlags + [.unsafeFlags(["-parse-stdlib"])]

// X86AVX512 is the one target built for AVX-512 (VNNI's vpdpbusd for int8, 512-bit FMA tiles
// for f32). Tensor calls into it only when the CPU has those instructions
// (Sources/Kernels/Kernels/CPUFeatures.swift), so the rest of the binary still runs on any AVX2
// machine.
#if arch(x86_64)
    let avx512Flags: [SwiftSetting] =
        intrinsicsFlags + [
            .unsafeFlags([
                "-Xcc", "-mavx512f", "-Xcc", "-mavx512bw", "-Xcc", "-mavx512vl", "-Xcc", "-mavx512vnni",
            ])
        ]
#else
    let avx512Flags: [SwiftSetting] = intrinsicsFlags
#endif

// The model and kernel targets are optimized in debug builds too, so that `swift test` runs
// the code that ships: unoptimized, the stdlib's generic iterators and SIMD operations allocate
// on every call (a tiny GPT-2 decode step made 19 to 23,000 allocations at -Onone; optimized,
// none), and DecodeAllocationTests checks that a decode step makes none. It also makes the
// model tests fast (swift test 85 -> 52 s).
// Sources build in the Swift 6 language mode (data-race checked); the tests are still in Swift 5
// mode, whose fixtures share mutable statics and pointers across threads on purpose.
let testSettings: [SwiftSetting] = [.swiftLanguageMode(.v5)]

let optimizedInDebug: [SwiftSetting] = [.unsafeFlags(["-O"], .when(configuration: .debug))]

let package = Package(
    name: "OctavoInfer",
    products: [
        .executable(name: "octavo-infer", targets: ["octavo-infer"]),
        .library(name: "Kernels", targets: ["Kernels"]),
        .library(name: "Tensor", targets: ["Tensor"]),
        .library(name: "CheckpointFormats", targets: ["CheckpointFormats"]),
        .library(name: "Tokenizer", targets: ["Tokenizer"]),
        .library(name: "Generation", targets: ["Generation"]),
        .library(name: "GPT2", targets: ["GPT2"]),
        .library(name: "NLLB", targets: ["NLLB"]),
        .library(name: "ModelFactory", targets: ["ModelFactory"]),
    ],
    targets: [
        .systemLibrary(name: "COpenBLAS", path: "Sources/COpenBLAS", providers: [.apt(["libopenblas-dev"])]),
        .systemLibrary(
            name: "CSQLite", path: "Sources/CSQLite", pkgConfig: "sqlite3", providers: [.apt(["libsqlite3-dev"])]),

        .target(name: "X86Intrinsics", swiftSettings: intrinsicsFlags + optimizedInDebug),
        .target(name: "X86AVX512", dependencies: ["X86Intrinsics"], swiftSettings: avx512Flags + optimizedInDebug),
        // Readers of untrusted PyTorch checkpoints: plain -O (never -Ounchecked), so every bounds
        // and overflow check stays on.
        .target(name: "CheckpointFormats", swiftSettings: optimizedInDebug),
        // The hot loops: -Ounchecked and the vector flags. Everything that reads outside data
        // (checkpoints, configs) lives above it, in targets built with their checks on.
        .target(
            name: "Kernels", dependencies: ["COpenBLAS", "X86Intrinsics", "X86AVX512"],
            swiftSettings: kernelTargetFlags + optimizedInDebug),
        .target(
            name: "Tensor", dependencies: ["Kernels", "CheckpointFormats"],
            swiftSettings: kernelFlags + optimizedInDebug),
        .target(name: "Tokenizer"),
        .target(name: "Generation", dependencies: ["Kernels", "Tensor", "Tokenizer"], swiftSettings: optimizedInDebug),
        .target(
            name: "GPT2", dependencies: ["Kernels", "Tensor", "Generation"],
            swiftSettings: kernelFlags + optimizedInDebug),
        .target(
            name: "NLLB", dependencies: ["Kernels", "Tensor", "Generation", "Tokenizer"],
            swiftSettings: kernelFlags + optimizedInDebug),
        // The architectures by config.json's model_type: config reader, tensor table, tokenizer,
        // loader and capability of each. The CLI's one way to open a model folder.
        .target(name: "ModelFactory", dependencies: ["Tensor", "Tokenizer", "Generation", "GPT2", "NLLB"]),
        // Models/ (the model catalog, one JSON file per model) ships as a resource beside the binary.
        .executableTarget(
            name: "octavo-infer",
            dependencies: [
                "Kernels", "Tensor", "Tokenizer", "Generation", "GPT2", "NLLB", "ModelFactory", "HTTPServer",
                "JobStore", "InferenceServer",
            ],
            resources: [.copy("../../Models")]),
        // HTTP/1.1 on POSIX sockets: knows nothing of models, jobs or JSON APIs.
        .target(name: "HTTPServer", exclude: ["README.md"]),
        // Durable jobs (SQLite or Redis): the only code that touches CSQLite.
        .target(name: "JobStore", dependencies: ["HTTPServer", "CSQLite"], exclude: ["README.md"]),
        // Generation models reach it as `CausalLanguagePipeline`s (no GPT2 here); NLLB backs translation.
        .target(
            name: "InferenceServer",
            dependencies: ["HTTPServer", "JobStore", "Tensor", "Tokenizer", "Generation", "NLLB"]),

        .testTarget(
            name: "TensorTests", dependencies: ["ReaderCorpus", "Kernels", "Tensor"], swiftSettings: testSettings),
        .testTarget(
            name: "CheckpointFormatsTests", dependencies: ["CheckpointFormats", "Tensor"], swiftSettings: testSettings),
        .testTarget(name: "TokenizerTests", dependencies: ["ReaderCorpus", "Tokenizer"], swiftSettings: testSettings),
        .testTarget(
            name: "GenerationTests", dependencies: ["ReaderCorpus", "Generation", "Kernels", "Tensor"],
            swiftSettings: testSettings),
        // Test-only: stands in for malloc to count allocations (a decode step must make none).
        .target(name: "AllocationCounter", path: "Tests/AllocationCounter"),
        // Test-only: replays the committed differential corpora (Tests/Fixtures/ReaderCorpus).
        .target(name: "ReaderCorpus", path: "Tests/ReaderCorpus", swiftSettings: testSettings),
        .testTarget(
            name: "GPT2Tests",
            dependencies: ["ReaderCorpus", "Kernels", "GPT2", "Tokenizer", "Generation", "AllocationCounter"],
            swiftSettings: testSettings),
        // Runs the built `octavo-infer` binary end to end (the dependency makes `swift test` build it).
        .testTarget(name: "CLITests", dependencies: ["octavo-infer", "InferenceServer"], swiftSettings: testSettings),
        // Test-only: what the server and job store tests share (a raw HTTP client, free ports,
        // redis-server, nginx and chromium processes, a job store per test).
        .target(
            name: "ServiceTestSupport", dependencies: ["HTTPServer", "JobStore"], path: "Tests/ServiceTestSupport",
            swiftSettings: testSettings),
        // Exists only for JobCrashRecoveryTests: a separate process that the test kills with
        // SIGKILL in the middle of running jobs. Not shipped, not a product; an executable, so it
        // cannot be a test target, but it lives with the tests.
        .executableTarget(
            name: "jobstore-crash-helper", dependencies: ["JobStore"], path: "Tests/JobStoreCrashHelper",
            swiftSettings: testSettings),
        .testTarget(
            name: "HTTPServerTests", dependencies: ["HTTPServer", "ServiceTestSupport"], swiftSettings: testSettings),
        // Depends on the crash helper so that `swift test` builds it: JobCrashRecoveryTests runs
        // it as a separate process and kills it with SIGKILL in the middle of running jobs.
        .testTarget(
            name: "JobStoreTests", dependencies: ["JobStore", "ServiceTestSupport", "jobstore-crash-helper"],
            swiftSettings: testSettings),
        // Depends on `octavo-infer` so that `swift test` always builds it next to the test bundle
        // (serve, signal and deployment tests run it as a separate process).
        .testTarget(
            name: "InferenceServerTests",
            dependencies: [
                "HTTPServer", "JobStore", "InferenceServer", "ServiceTestSupport", "GPT2", "NLLB", "Generation",
                "Tokenizer", "octavo-infer",
            ], swiftSettings: testSettings),
        .testTarget(
            name: "ModelFactoryTests",
            dependencies: ["ModelFactory", "GPT2", "NLLB", "Generation", "Tensor", "Tokenizer"],
            swiftSettings: testSettings),
        .testTarget(
            name: "NLLBTests",
            dependencies: [
                "ReaderCorpus", "Kernels", "NLLB", "Generation", "Tensor", "Tokenizer", "AllocationCounter",
            ], swiftSettings: testSettings),
    ],
    swiftLanguageModes: [.v6]
)
