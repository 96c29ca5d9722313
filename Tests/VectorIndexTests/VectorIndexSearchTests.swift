// Exact search, HNSW recall for every metric, deletes, updates and filtered search.

import XCTest
@testable import VectorIndex

final class VectorIndexSearchTests: XCTestCase {
    func testExactSearchMatchesBruteForce() throws {
        var data = TestData(seed: 1)
        // More than one filtered chunk (256 slots) of matches, and removed ids in between.
        let vectors = data.vectors(1_000, dimension: 8)
        let index = try VectorIndex(dimension: 8, metric: .squaredEuclidean)
        for (id, vector) in vectors.enumerated() { try index.insert(vector, id: UInt64(id)) }
        let removed = Set<UInt64>((0..<1_000).filter { $0 % 7 == 0 }.map(UInt64.init))
        for id in removed { XCTAssertTrue(index.remove(id: id)) }
        let query = data.vector(dimension: 8)
        var scored: [(id: UInt64, distance: Float)] = []
        for (id, vector) in vectors.enumerated() where !removed.contains(UInt64(id)) {
            var sum: Float = 0
            for (a, b) in zip(vector, query) { sum += (a - b) * (a - b) }
            scored.append((UInt64(id), sum))
        }
        let ranked = scored.sorted { $0.distance < $1.distance }
        let filters: [(name: String, admits: (UInt64) -> Bool)] = [
            ("none", { _ in true }), ("a third", { $0 % 3 == 0 }), ("the last ten ids", { $0 >= 990 }), ("removed only", { $0 == 7 }),
        ]
        for (name, admits) in filters {
            let expected = ranked.filter { admits($0.id) }.prefix(20)
            let found = try index.exactNearest(to: query, count: 20, filter: name == "none" ? nil : admits)
            XCTAssertEqual(found.map(\.id), expected.map(\.id), name)
            for (result, reference) in zip(found, expected) {
                XCTAssertEqual(result.distance, reference.distance, accuracy: 1e-4, name)
            }
        }
    }

    func testRecallAtTenForEveryMetric() throws {
        let dimension = 32
        var data = TestData(seed: 2)
        let vectors = data.vectors(5_000, dimension: dimension)
        let queries = data.vectors(50, dimension: dimension)
        for metric in DistanceMetric.allCases {
            let parameters = HNSWParameters(maxNeighbors: 16, constructionSearchWidth: 40, searchWidth: 64, seed: 7)
            let index = try VectorIndex(dimension: dimension, metric: metric, parameters: parameters)
            for (id, vector) in vectors.enumerated() { try index.insert(vector, id: UInt64(id)) }
            var total = 0.0
            for query in queries {
                let approximate = try index.nearest(to: query, count: 10, searchWidth: 64)
                XCTAssertEqual(approximate.map(\.distance), approximate.map(\.distance).sorted())
                total += recall(approximate, try index.exactNearest(to: query, count: 10))
            }
            let meanRecall = total / Double(queries.count)
            print("recall@10 \(metric): \(meanRecall)")
            XCTAssertGreaterThanOrEqual(meanRecall, 0.95, "recall@10 for \(metric)")
        }
    }

    func testRemovedIDsAreExcludedAndSlotsReused() throws {
        var data = TestData(seed: 3)
        let index = try VectorIndex(dimension: 16, metric: .cosine)
        let vectors = data.vectors(300, dimension: 16)
        for (id, vector) in vectors.enumerated() { try index.insert(vector, id: UInt64(id)) }
        XCTAssertTrue(index.remove(id: 42))
        XCTAssertFalse(index.remove(id: 42))
        XCTAssertFalse(index.contains(id: 42))
        XCTAssertEqual(index.count, 299)
        let hits = try index.nearest(to: vectors[42], count: 10)
        XCTAssertFalse(hits.contains { $0.id == 42 })
        XCTAssertEqual(hits.count, 10)
        XCTAssertFalse(try index.exactNearest(to: vectors[42], count: 300).contains { $0.id == 42 })

        try index.insert(vectors[42], id: 1_000)  // takes the tombstoned slot
        XCTAssertEqual(try index.nearest(to: vectors[42], count: 1).first?.id, 1_000)
        XCTAssertEqual(index.count, 300)
    }

    func testUpdateMovesVector() throws {
        var data = TestData(seed: 4)
        let index = try VectorIndex(dimension: 16, metric: .squaredEuclidean)
        let vectors = data.vectors(500, dimension: 16)
        for (id, vector) in vectors.enumerated() { try index.insert(vector, id: UInt64(id)) }
        let target = vectors[400]
        try index.insert(target.map { $0 + 0.001 }, id: 7)
        XCTAssertEqual(index.count, 500)
        let hits = try index.nearest(to: target, count: 2)
        XCTAssertEqual(Set(hits.map(\.id)), [400, 7])
        let atOldPlace = try index.nearest(to: vectors[7], count: 5)
        XCTAssertFalse(atOldPlace.contains { $0.id == 7 && $0.distance < 1e-6 })
        // Many updates keep recall: move every other vector and compare with exact search.
        for id in stride(from: 0, to: 500, by: 2) { try index.insert(data.vector(dimension: 16), id: UInt64(id)) }
        var total = 0.0
        for _ in 0..<20 {
            let query = data.vector(dimension: 16)
            total += recall(try index.nearest(to: query, count: 10), try index.exactNearest(to: query, count: 10))
        }
        XCTAssertGreaterThanOrEqual(total / 20, 0.95)
    }

    func testFilteredSearchReturnsOnlyMatches() throws {
        var data = TestData(seed: 5)
        let index = try VectorIndex(dimension: 16, metric: .innerProduct)
        for id in 0..<2_000 { try index.insert(data.vector(dimension: 16), id: UInt64(id)) }
        let query = data.vector(dimension: 16)
        // Half the ids: graph search with the filter applied during traversal.
        let even: (UInt64) -> Bool = { $0 % 2 == 0 }
        let hits = try index.nearest(to: query, count: 10, searchWidth: 100, filter: even)
        XCTAssertEqual(hits.count, 10)
        XCTAssertTrue(hits.allSatisfy { $0.id % 2 == 0 })
        XCTAssertGreaterThanOrEqual(recall(hits, try index.exactNearest(to: query, count: 10, filter: even)), 0.9)
        // 0.5% of ids: the exact fallback must still give k correct results.
        let rare: (UInt64) -> Bool = { $0 % 200 == 3 }
        let rareHits = try index.nearest(to: query, count: 10, filter: rare)
        XCTAssertEqual(rareHits, try index.exactNearest(to: query, count: 10, filter: rare))
        XCTAssertEqual(rareHits.count, 10)
        // A filter matching fewer than k ids returns all of them.
        XCTAssertEqual(try index.nearest(to: query, count: 10, filter: { $0 == 5 || $0 == 6 }).count, 2)
    }

    func testInvalidInputIsRejected() throws {
        let index = try VectorIndex(dimension: 4, metric: .cosine)
        XCTAssertThrowsError(try index.insert([1, 2, 3], id: 1)) {
            XCTAssertEqual($0 as? VectorIndexError, .dimensionMismatch(expected: 4, actual: 3))
        }
        XCTAssertThrowsError(try index.insert([1, .nan, 0, 0], id: 1)) {
            XCTAssertEqual($0 as? VectorIndexError, .nonFiniteComponent(index: 1))
        }
        XCTAssertThrowsError(try index.insert([1, 0, .infinity, 0], id: 1)) {
            XCTAssertEqual($0 as? VectorIndexError, .nonFiniteComponent(index: 2))
        }
        XCTAssertThrowsError(try index.insert([0, 0, 0, 0], id: 1)) {
            XCTAssertEqual($0 as? VectorIndexError, .zeroVector)
        }
        XCTAssertThrowsError(try index.nearest(to: [1, 2], count: 1))
        XCTAssertThrowsError(try index.nearest(to: [1, 2, 3, 4], count: -1))
        XCTAssertThrowsError(try VectorIndex(dimension: 0, metric: .cosine))
        XCTAssertThrowsError(try VectorIndex(dimension: 4, metric: .cosine, parameters: HNSWParameters(maxNeighbors: 1)))
        XCTAssertEqual(index.count, 0)
        XCTAssertEqual(try index.nearest(to: [1, 2, 3, 4], count: 3), [])
    }

    func testConcurrentSearchesAndInsertsFinish() throws {
        var data = TestData(seed: 6)
        let dimension = 16
        let index = try VectorIndex(dimension: dimension, metric: .cosine,
                                    parameters: HNSWParameters(constructionSearchWidth: 64))
        for id in 0..<500 { try index.insert(data.vector(dimension: dimension), id: UInt64(id)) }
        let extra = data.vectors(400, dimension: dimension)
        let queries = data.vectors(64, dimension: dimension)
        DispatchQueue.concurrentPerform(iterations: 8) { worker in
            for step in 0..<50 {
                do {
                    if worker % 2 == 0 {
                        let id = worker * 50 + step
                        try index.insert(extra[id % extra.count], id: UInt64(500 + id))
                        if step % 10 == 0 { index.remove(id: UInt64(step)) }
                    } else {
                        let hits = try index.nearest(to: queries[step % queries.count], count: 5,
                                                     filter: step % 3 == 0 ? { $0 % 2 == 1 } : nil)
                        XCTAssertEqual(hits.count, 5)
                    }
                } catch {
                    XCTFail("\(error)")
                }
            }
        }
        XCTAssertEqual(index.count, 500 + 200 - 5)
    }
}
