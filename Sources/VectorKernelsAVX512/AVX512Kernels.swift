// The distance kernels compiled for AVX-512 (this module is built with -target-cpu
// skylake-avx512: AVX-512 F, CD, BW, DQ and VL, plus FMA). Not inlinable, for the reason given
// in VectorKernelsAVX2: this code must run only after `DistanceKernel` checked the CPU.
import VectorKernels

/// `a · b` over `count` floats, in AVX-512 instructions.
@inline(never)
public func dotProductAVX512(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, count: Int) -> Float {
    dotProduct(a, b, count: count, fused: true)
}

/// `|a - b|²` over `count` floats, in AVX-512 instructions.
@inline(never)
public func squaredEuclideanDistanceAVX512(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, count: Int)
    -> Float
{
    squaredEuclideanDistance(a, b, count: count, fused: true)
}
