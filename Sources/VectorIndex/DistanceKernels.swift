// SIMD distance kernels over raw float buffers; the innermost loop of every search.

// Two 16-lane accumulators give the CPU two independent add chains (more with wider registers),
// and unaligned SIMD loads from raw pointers avoid bounds checks and ARC in the loop. Rows are
// 64-byte aligned in the index, so the loads are aligned in practice.

@inline(__always)
func dotProduct(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, count: Int) -> Float {
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
    var index = 0
    while index &+ 32 <= count {
        let offset = index &* 4
        sum0 += rawA.loadUnaligned(fromByteOffset: offset, as: SIMD16<Float>.self)
            * rawB.loadUnaligned(fromByteOffset: offset, as: SIMD16<Float>.self)
        sum1 += rawA.loadUnaligned(fromByteOffset: offset &+ 64, as: SIMD16<Float>.self)
            * rawB.loadUnaligned(fromByteOffset: offset &+ 64, as: SIMD16<Float>.self)
        index &+= 32
    }
    if index &+ 16 <= count {
        let offset = index &* 4
        sum0 += rawA.loadUnaligned(fromByteOffset: offset, as: SIMD16<Float>.self)
            * rawB.loadUnaligned(fromByteOffset: offset, as: SIMD16<Float>.self)
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

@inline(__always)
func squaredEuclideanDistance(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, count: Int) -> Float {
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
    var index = 0
    while index &+ 32 <= count {
        let offset = index &* 4
        let d0 = rawA.loadUnaligned(fromByteOffset: offset, as: SIMD16<Float>.self)
            - rawB.loadUnaligned(fromByteOffset: offset, as: SIMD16<Float>.self)
        let d1 = rawA.loadUnaligned(fromByteOffset: offset &+ 64, as: SIMD16<Float>.self)
            - rawB.loadUnaligned(fromByteOffset: offset &+ 64, as: SIMD16<Float>.self)
        sum0 += d0 * d0
        sum1 += d1 * d1
        index &+= 32
    }
    if index &+ 16 <= count {
        let offset = index &* 4
        let d0 = rawA.loadUnaligned(fromByteOffset: offset, as: SIMD16<Float>.self)
            - rawB.loadUnaligned(fromByteOffset: offset, as: SIMD16<Float>.self)
        sum0 += d0 * d0
        index &+= 16
    }
    var result = (sum0 + sum1).sum()
    while index < count {
        let d = a[index] - b[index]
        result += d * d
        index &+= 1
    }
    return result
    #endif
}

extension DistanceMetric {
    /// Distance between two stored-form vectors (cosine vectors already normalized).
    @inline(__always)
    func distance(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, count: Int) -> Float {
        switch self {
        case .squaredEuclidean: return squaredEuclideanDistance(a, b, count: count)
        case .cosine, .innerProduct: return 1 - dotProduct(a, b, count: count)
        }
    }
}
