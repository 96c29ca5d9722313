// The distance kernels compiled for AVX2 + FMA (this module is built with -target-cpu haswell).
//
// Swift has no per-function target attributes, so the only way to have both a portable build
// and AVX2 code in one binary is a module of its own. The functions are not inlinable on
// purpose: inlined into a portable caller they would be compiled as portable code again, and
// code from here must run only after `DistanceKernel` checked that the CPU has AVX2 and FMA.
import VectorKernels

/// `a · b` over `count` floats, in AVX2 + FMA instructions.
@inline(never)
public func dotProductAVX2(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, count: Int) -> Float {
    dotProduct(a, b, count: count, fused: true)
}

/// `|a - b|²` over `count` floats, in AVX2 + FMA instructions.
@inline(never)
public func squaredEuclideanDistanceAVX2(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, count: Int) -> Float {
    squaredEuclideanDistance(a, b, count: count, fused: true)
}
