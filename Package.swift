// swift-tools-version:6.0
import PackageDescription

// Only the toolchain's own modules are available here; C libraries come from Debian packages
// through the system library targets below.
let package = Package(
    name: "agent-store",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "store-server", targets: ["StoreServer"]),
        .executable(name: "store-load", targets: ["StoreLoad"]),
        .executable(name: "vector-bench", targets: ["VectorBench"]),
        .executable(name: "store-cli", targets: ["StoreCLI"]),
        .executable(name: "memory-bench", targets: ["MemoryBench"]),
        .library(name: "WireProtocol", targets: ["WireProtocol"]),
        .library(name: "StoreClient", targets: ["StoreClient"]),
        .executable(name: "agent-example", targets: ["AgentExample"]),
    ],
    targets: [
        // Bytes <-> typed messages. No I/O, no Dispatch, no logging.
        .target(name: "WireProtocol"),

        .systemLibrary(
            name: "CLibpq",
            pkgConfig: "libpq",
            providers: [.apt(["libpq-dev"])]
        ),
        // No pkgConfig: hiredis' .pc adds a -D flag that SwiftPM refuses.
        .systemLibrary(
            name: "CHiredis",
            providers: [.apt(["libhiredis-dev"])]
        ),

        // Approximate nearest-neighbour index; pure Swift, no I/O but one read of /proc/cpuinfo.
        .target(
            name: "VectorIndex",
            dependencies: ["VectorKernels", "VectorKernelsAVX2", "VectorKernelsAVX512", "CacheHints"]),
        // The SIMD distance kernels, inlinable so each caller compiles them for its own CPU.
        .target(name: "VectorKernels"),
        // The same kernels compiled for AVX2 + FMA; VectorIndex calls them only on CPUs that have
        // both (checked at run time), so the rest of the binary stays portable x86-64.
        .target(
            name: "VectorKernelsAVX2", dependencies: ["VectorKernels"],
            swiftSettings: targetCPU("haswell")),
        .target(
            name: "VectorKernelsAVX512", dependencies: ["VectorKernels"],
            swiftSettings: targetCPU("skylake-avx512")),
        // Software prefetch, which Swift reaches only through the Builtin module: this one file
        // is compiled with -parse-stdlib (see its header). StoreClient does not depend on it, so
        // the unsafe flag never reaches a package that links the client.
        .target(name: "CacheHints", swiftSettings: [.unsafeFlags(["-parse-stdlib"])]),

        // The server's logic as a library so tests can start a server in process.
        .target(
            name: "StoreServerCore",
            dependencies: ["WireProtocol", "CLibpq", "CHiredis", "VectorIndex"]
        ),
        .executableTarget(name: "StoreServer", dependencies: ["StoreServerCore"]),

        .target(name: "StoreClient", dependencies: ["WireProtocol"]),

        .executableTarget(name: "StoreLoad", dependencies: ["StoreClient", "WireProtocol"]),
        .executableTarget(name: "VectorBench", dependencies: ["VectorIndex"]),
        .executableTarget(name: "StoreCLI", dependencies: ["StoreClient", "WireProtocol"]),
        .executableTarget(name: "MemoryBench", dependencies: ["StoreClient", "WireProtocol"]),

        .testTarget(name: "WireProtocolTests", dependencies: ["WireProtocol"]),
        .testTarget(name: "StoreServerTests",
                    dependencies: ["StoreServerCore", "StoreClient", "WireProtocol"]),
        .testTarget(name: "StoreClientTests",
                    dependencies: ["StoreClient", "StoreServerCore", "WireProtocol"]),
        .testTarget(name: "VectorIndexTests", dependencies: ["VectorIndex"]),
        .testTarget(name: "BackendTests", dependencies: ["StoreServerCore"]),
        .executableTarget(name: "AgentExample", dependencies: ["StoreClient", "WireProtocol"],
                          path: "examples/swift/AgentExample"),
    ]
)

/// Compiles a module for an x86-64 CPU model. The manifest is evaluated on the build host, which
/// is also the target here (no cross builds); on other hosts the modules build portable, and
/// the index never selects them there (`KernelInstructionSet.isSupportedByHost`).
func targetCPU(_ model: String) -> [SwiftSetting] {
    #if arch(x86_64)
    return [.unsafeFlags(["-target-cpu", model])]
    #else
    return []
    #endif
}
