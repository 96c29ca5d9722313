// Picks, once per index, the distance function for its metric and the CPU it runs on.

import Foundation
import VectorKernels
import VectorKernelsAVX2
import VectorKernelsAVX512

/// The instruction sets the distance kernels come in.
public enum KernelInstructionSet: String, Sendable, CaseIterable {
    /// Baseline x86-64 (SSE2), or whatever the build targets elsewhere: runs on every CPU.
    case portable
    /// AVX2 + FMA (every x86-64 server CPU since 2013): about 1.3x the searches per second of
    /// `portable` on 384-dimension embeddings (BENCHMARKS.md).
    case avx2
    /// AVX-512 F/CD/BW/DQ/VL (Intel since Skylake-SP, AMD since Zen 4): 16 floats per
    /// instruction.
    case avx512

    /// The best set this CPU supports. Read once from the CPU flags the kernel reports in
    /// /proc/cpuinfo; when they cannot be read, `portable`, which is always safe.
    public static let host: KernelInstructionSet = detectHost()

    /// Whether this CPU can run code of this set.
    public var isSupportedByHost: Bool {
        switch self {
        case .portable: return true
        case .avx2: return Self.host == .avx2 || Self.host == .avx512
        case .avx512: return Self.host == .avx512
        }
    }

    private static func detectHost() -> KernelInstructionSet {
        #if arch(x86_64) && os(Linux)
        // Unreadable /proc (a sandbox without it) only costs speed: the portable kernels run.
        guard let cpuinfo = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
              let flagsLine = cpuinfo.split(separator: "\n").first(where: { $0.hasPrefix("flags") })
        else { return .portable }
        let flags = Set(flagsLine.split(separator: " ").map(String.init))
        // What -target-cpu skylake-avx512 and haswell let the compiler use in those modules.
        let avx512 = ["avx512f", "avx512cd", "avx512bw", "avx512dq", "avx512vl", "avx2", "fma"]
        if avx512.allSatisfy(flags.contains) { return .avx512 }
        if flags.contains("avx2") && flags.contains("fma") && flags.contains("bmi2") && flags.contains("f16c") {
            return .avx2
        }
        return .portable
        #else
        return .portable
        #endif
    }
}

/// The distance of one metric in one instruction set. A value type with a switch, not a closure,
/// so that the portable case inlines into the search loop and the AVX2 case is one direct call.
struct DistanceKernel {
    private enum Choice {
        case portableDot, portableSquaredEuclidean, avx2Dot, avx2SquaredEuclidean, avx512Dot, avx512SquaredEuclidean
    }

    private let choice: Choice
    let instructionSet: KernelInstructionSet

    /// `instructionSet` must be supported by the host (`VectorIndex` checks).
    init(metric: DistanceMetric, instructionSet: KernelInstructionSet) {
        self.instructionSet = instructionSet
        switch (metric, instructionSet) {
        case (.cosine, .portable), (.innerProduct, .portable): choice = .portableDot
        case (.squaredEuclidean, .portable): choice = .portableSquaredEuclidean
        case (.cosine, .avx2), (.innerProduct, .avx2): choice = .avx2Dot
        case (.squaredEuclidean, .avx2): choice = .avx2SquaredEuclidean
        case (.cosine, .avx512), (.innerProduct, .avx512): choice = .avx512Dot
        case (.squaredEuclidean, .avx512): choice = .avx512SquaredEuclidean
        }
    }

    /// Distance between two stored-form vectors (cosine vectors already normalized).
    @inline(__always)
    func distance(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, count: Int) -> Float {
        switch choice {
        case .portableDot: return 1 - dotProduct(a, b, count: count)
        case .portableSquaredEuclidean: return squaredEuclideanDistance(a, b, count: count)
        case .avx2Dot: return 1 - dotProductAVX2(a, b, count: count)
        case .avx2SquaredEuclidean: return squaredEuclideanDistanceAVX2(a, b, count: count)
        case .avx512Dot: return 1 - dotProductAVX512(a, b, count: count)
        case .avx512SquaredEuclidean: return squaredEuclideanDistanceAVX512(a, b, count: count)
        }
    }
}
