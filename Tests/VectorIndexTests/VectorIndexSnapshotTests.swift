// Snapshot round trips and rejection of corrupt snapshots.

import XCTest
@testable import VectorIndex

final class VectorIndexSnapshotTests: XCTestCase {
    private func makeIndex() throws -> (VectorIndex, [[Float]]) {
        var data = TestData(seed: 11)
        let index = try VectorIndex(dimension: 12, metric: .cosine,
                                    parameters: HNSWParameters(maxNeighbors: 8, constructionSearchWidth: 50))
        for id in 0..<400 { try index.insert(data.vector(dimension: 12), id: UInt64(id) * 3) }
        index.remove(id: 30)
        index.remove(id: 33)
        index.watermark = 987_654
        return (index, data.vectors(20, dimension: 12))
    }

    func testRoundTripGivesIdenticalResults() throws {
        let (index, queries) = try makeIndex()
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("vi-\(UUID()).snapshot").path
        defer {
            // Cleanup only; a leftover temporary file does not affect the result.
            try? FileManager.default.removeItem(atPath: path)
        }
        try index.writeSnapshot(toPath: path)
        let loaded = try VectorIndex.load(snapshotAtPath: path)
        XCTAssertEqual(loaded.watermark, 987_654)
        XCTAssertEqual(loaded.count, index.count)
        XCTAssertEqual(loaded.dimension, 12)
        XCTAssertEqual(loaded.metric, .cosine)
        XCTAssertEqual(loaded.parameters, index.parameters)
        XCTAssertFalse(loaded.contains(id: 30))
        for query in queries {
            XCTAssertEqual(try loaded.nearest(to: query, count: 10), try index.nearest(to: query, count: 10))
        }
        // Both go on identically after loading (same level generator state and free slots).
        try index.insert(queries[0], id: 9_999)
        try loaded.insert(queries[0], id: 9_999)
        XCTAssertEqual(loaded.snapshotData(), index.snapshotData())
        // An empty index round-trips too.
        let empty = try VectorIndex(dimension: 3, metric: .innerProduct)
        XCTAssertEqual(try VectorIndex.load(snapshot: empty.snapshotData()).count, 0)
    }

    func testCorruptSnapshotsThrow() throws {
        let (index, _) = try makeIndex()
        let good = index.snapshotData()
        func assertCorrupt(_ bytes: Data, _ label: String, line: UInt = #line) {
            XCTAssertThrowsError(try VectorIndex.load(snapshot: bytes), label, line: line) { error in
                guard case .corruptSnapshot = error as? VectorIndexError else {
                    return XCTFail("\(label): \(error)", line: line)
                }
            }
        }
        assertCorrupt(Data(), "empty")
        for length in [3, 40, IndexSnapshot.headerBytes, good.count / 2, good.count - 1] {
            assertCorrupt(good.prefix(length), "truncated to \(length)")
        }
        assertCorrupt(good + [0], "trailing byte")
        var badMagic = good
        badMagic[0] = UInt8(ascii: "X")
        assertCorrupt(badMagic, "bad magic")
        var absurdCount = good
        absurdCount.replaceSubrange(56..<64, with: [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F])
        assertCorrupt(absurdCount, "absurd slot count")
        var hugeDimension = good
        hugeDimension.replaceSubrange(8..<12, with: [0xFF, 0xFF, 0xFF, 0xFF])
        assertCorrupt(hugeDimension, "absurd dimension")
        var badLink = good
        let firstLinks = IndexSnapshot.headerBytes + 400 * (12 * 4 + 8 + 1)
        badLink.replaceSubrange((firstLinks + 4)..<(firstLinks + 8), with: [0xFF, 0xFF, 0, 0])
        assertCorrupt(badLink, "link to a missing slot")
        var badFloat = good
        badFloat.replaceSubrange((IndexSnapshot.headerBytes)..<(IndexSnapshot.headerBytes + 4), with: [0, 0, 0xC0, 0x7F])
        assertCorrupt(badFloat, "NaN component")

        // Seeded random byte flips must throw or load, never trap.
        var generator = SeededGenerator(seed: 99)
        for _ in 0..<200 {
            var mutated = good
            for _ in 0..<4 {
                let position = Int.random(in: 0..<min(mutated.count, 2_000), using: &generator)
                mutated[position] = UInt8.random(in: 0...255, using: &generator)
            }
            do {
                _ = try VectorIndex.load(snapshot: mutated)
            } catch {
                // Expected for most flips; the point is that nothing trapped.
            }
        }
    }
}
