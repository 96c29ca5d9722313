// Every kernel set this CPU runs against a plain Double reference, and the same search answered
// alike by every set. The SIMD code only exists in release builds (debug builds take plain
// loops), so scripts/run-test-suites.sh also runs this suite with `-c release`.

import XCTest
@testable import VectorIndex

final class DistanceKernelTests: XCTestCase {
    /// Lengths around every SIMD block edge (16 and 32 lanes) plus real embedding sizes.
    let dimensions = [1, 3, 15, 16, 17, 31, 32, 33, 47, 64, 100, 384, 1_000]

    func testEveryKernelSetMatchesPlainArithmetic() throws {
        var data = TestData(seed: 11)
        let supported = KernelInstructionSet.allCases.filter(\.isSupportedByHost)
        XCTAssertTrue(supported.contains(.portable))
        for dimension in dimensions {
            let a = data.vector(dimension: dimension)
            let b = data.vector(dimension: dimension)
            var dot = 0.0
            var squared = 0.0
            for (x, y) in zip(a, b) {
                dot += Double(x) * Double(y)
                squared += (Double(x) - Double(y)) * (Double(x) - Double(y))
            }
            // Float sums of `dimension` terms of size <= 1 drift by about dimension * ulp(1).
            let tolerance = Double(dimension) * 1e-6 + 1e-6
            for instructionSet in supported {
                for metric in DistanceMetric.allCases {
                    let kernel = DistanceKernel(metric: metric, instructionSet: instructionSet)
                    let expected = metric == .squaredEuclidean ? squared : 1 - dot
                    let actual = a.withUnsafeBufferPointer { pa in
                        b.withUnsafeBufferPointer { pb in
                            kernel.distance(pa.baseAddress!, pb.baseAddress!, count: dimension)
                        }
                    }
                    XCTAssertEqual(Double(actual), expected, accuracy: tolerance,
                                   "\(instructionSet) \(metric) dimension \(dimension)")
                }
            }
        }
    }

    func testEveryKernelSetFindsTheSameNeighbours() throws {
        let dimension = 96
        var data = TestData(seed: 12)
        let vectors = data.vectors(2_000, dimension: dimension)
        let queries = data.vectors(20, dimension: dimension)
        let built = try VectorIndex(dimension: dimension, metric: .cosine, instructionSet: .portable)
        for (id, vector) in vectors.enumerated() { try built.insert(vector, id: UInt64(id)) }
        let snapshot = built.snapshotData()
        for instructionSet in KernelInstructionSet.allCases where instructionSet.isSupportedByHost {
            let index = try VectorIndex.load(snapshot: snapshot, instructionSet: instructionSet)
            XCTAssertEqual(index.instructionSet, instructionSet)
            for query in queries {
                let exact = try index.exactNearest(to: query, count: 10)
                let reference = try built.exactNearest(to: query, count: 10)
                XCTAssertEqual(exact.map(\.id), reference.map(\.id), "\(instructionSet) exact")
                let approximate = try index.nearest(to: query, count: 10, searchWidth: 64)
                XCTAssertGreaterThanOrEqual(recall(approximate, exact), 0.8, "\(instructionSet) approximate")
            }
        }
    }

    func testAnUnsupportedKernelSetIsRefused() throws {
        guard let unsupported = KernelInstructionSet.allCases.first(where: { !$0.isSupportedByHost }) else {
            throw XCTSkip("this CPU runs every kernel set")
        }
        XCTAssertThrowsError(try VectorIndex(dimension: 4, metric: .cosine, instructionSet: unsupported))
    }
}
