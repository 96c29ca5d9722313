// SIMD distance kernels over raw float buffers; the innermost loop of every search.
//
// They are @inlinable so that each module that calls them compiles them for its own target CPU:
// VectorIndex inlines them as portable x86-64 (SSE2) code, and VectorKernelsAVX2, compiled with
// `-target-cpu haswell`, wraps them as AVX2 + FMA functions that VectorIndex calls when the CPU
// has those features (see `DistanceKernel` in VectorIndex).
//
// Two 16-lane accumulators give the CPU two independent add chains (more with wider registers),
// and unaligned SIMD loads from raw pointers avoid bounds checks and ARC in the loop. Rows are
// 64-byte aligned in the index, so the loads are aligned in practice.
//
// `fused` picks fused multiply-add (`addingProduct`), which only a caller compiled for a CPU with
// FMA may pass as true: without the instruction, LLVM calls `fmaf` per lane. It is a constant at
// every call site, so the untaken branch folds away. Fused sums round once per lane step instead
// of twice, so they differ from unfused ones in the last bits, never in ranking-relevant ways.

@inlinable @inline(__always)
public func dotProduct(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, count: Int, fused: Bool = false)
    -> Float
{
    #if DEBUG
    // Unoptimized SIMD goes through generic witnesses and is ~50x slower than this loop; debug
    // builds (the test runs) take the plain loop, release builds the SIMD one below.
    var plain: Float = 0
    for index in 0..<count { plain += a[index] * b[index] }
    return plain
    #else
    let rawA = UnsafeRawPointer(a)
    let rawB = UnsafeRawPointer(b)
    var sum0 = SIMD16<Float>()
    var sum1 = SIMD16<Float>()
    @inline(__always) func accumulate(_ sum: inout SIMD16<Float>, _ offset: Int) {
        let x = rawA.loadUnaligned(fromByteOffset: offset, as: SIMD16<Float>.self)
        let y = rawB.loadUnaligned(fromByteOffset: offset, as: SIMD16<Float>.self)
        if fused { sum.addProduct(x, y) } else { sum += x * y }
    }
    var index = 0
    while index &+ 32 <= count {
        accumulate(&sum0, index &* 4)
        accumulate(&sum1, index &* 4 &+ 64)
        index &+= 32
    }
    if index &+ 16 <= count {
        accumulate(&sum0, index &* 4)
        index &+= 16
    }
    var result = (sum0 + sum1).sum()
    while index < count {
        result += a[index] * b[index]
        index &+= 1
    }
    return result
    #endif
}

@inlinable @inline(__always)
public func squaredEuclideanDistance(
    _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, count: Int, fused: Bool = false
) -> Float {
    #if DEBUG
    var plain: Float = 0
    for index in 0..<count {
        let difference = a[index] - b[index]
        plain += difference * difference
    }
    return plain
    #else
    let rawA = UnsafeRawPointer(a)
    let rawB = UnsafeRawPointer(b)
    var sum0 = SIMD16<Float>()
    var sum1 = SIMD16<Float>()
    @inline(__always) func accumulate(_ sum: inout SIMD16<Float>, _ offset: Int) {
        let difference = rawA.loadUnaligned(fromByteOffset: offset, as: SIMD16<Float>.self)
            - rawB.loadUnaligned(fromByteOffset: offset, as: SIMD16<Float>.self)
        if fused { sum.addProduct(difference, difference) } else { sum += difference * difference }
    }
    var index = 0
    while index &+ 32 <= count {
        accumulate(&sum0, index &* 4)
        accumulate(&sum1, index &* 4 &+ 64)
        index &+= 32
    }
    if index &+ 16 <= count {
        accumulate(&sum0, index &* 4)
        index &+= 16
    }
    var result = (sum0 + sum1).sum()
    while index < count {
        let difference = a[index] - b[index]
        result += difference * difference
        index &+= 1
    }
    return result
    #endif
}
