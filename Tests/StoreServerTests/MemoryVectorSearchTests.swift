// Vector search over the socket compared with exact rankings computed here; dimension and
// NaN checks; collections.
import Foundation
import XCTest
import StoreClient
import StoreServerCore
import WireProtocol

final class MemoryVectorSearchTests: XCTestCase {
    private static let dimension = 16

    /// Loads `count` items with random vectors under root/{even,odd}; returns key -> vector.
    private func load(_ client: StoreClient, root: String, collection: String, count: Int, seed: UInt64) async throws
        -> [String: [Float]]
    {
        try await client.ensureMemoryCollection(collection, dimension: Self.dimension, metric: .cosine)
        var generator = SplitMix64(state: seed)
        var vectors: [String: [Float]] = [:]
        for index in 0..<count {
            let vector = MemoryTestData.randomVector(dimension: Self.dimension, using: &generator)
            let key = "k\(index)"
            vectors[key] = vector
            _ = try await client.putMemory(MemoryPutRequest(
                namespace: [root, index % 2 == 0 ? "even" : "odd"], key: key,
                value: #"{"index":\#(index),"bucket":\#(index % 10)}"#, collection: collection,
                vectors: [MemoryFieldVector(field: "$", vector: vector)]))
        }
        return vectors
    }

    private func exactRanking(_ vectors: [String: [Float]], query: [Float], count: Int,
                              where include: (String) -> Bool = { _ in true }) -> [String] {
        vectors.filter { include($0.key) }
            .map { ($0.key, MemoryTestData.cosine($0.value, query)) }
            .sorted { $0.1 > $1.1 }
            .prefix(count).map(\.0)
    }

    func testVectorSearchMatchesExactRankingWithAndWithoutFilters() async throws {
        let fixture = try await MemoryTestServer.start()
        let client = fixture.client
        let root = MemoryTestData.uniqueRoot()
        let collection = "c-" + root
        let vectors = try await load(client, root: root, collection: collection, count: 400, seed: 7)
        var generator = SplitMix64(state: 99)
        for _ in 0..<10 {
            let query = MemoryTestData.randomVector(dimension: Self.dimension, using: &generator)
            let found = try await client.searchMemories(MemorySearchRequest(
                namespacePrefix: [root], collection: collection, query: query, limit: 10))
            XCTAssertEqual(found.map(\.item.key), exactRanking(vectors, query: query, count: 10))
            for hit in found {
                XCTAssertEqual(hit.score!, MemoryTestData.cosine(vectors[hit.item.key]!, query), accuracy: 1e-4)
            }
            XCTAssertEqual(found.map { $0.score! }, found.map { $0.score! }.sorted(by: >))

            // Namespace restriction: only the "odd" half.
            let odd = try await client.searchMemories(MemorySearchRequest(
                namespacePrefix: [root, "odd"], collection: collection, query: query, limit: 10))
            XCTAssertEqual(odd.map(\.item.key), exactRanking(vectors, query: query, count: 10) {
                Int($0.dropFirst())! % 2 == 1
            })

            // A selective filter (one item in ten) must still give a full, exact page.
            let bucket = try await client.searchMemories(MemorySearchRequest(
                namespacePrefix: [root], filter: #"{"bucket":3}"#, collection: collection, query: query, limit: 10))
            XCTAssertEqual(bucket.map(\.item.key), exactRanking(vectors, query: query, count: 10) {
                Int($0.dropFirst())! % 10 == 3
            })

            // Offset pages continue the same ranking.
            let second = try await client.searchMemories(MemorySearchRequest(
                namespacePrefix: [root], collection: collection, query: query, limit: 5, offset: 10))
            XCTAssertEqual(second.map(\.item.key), Array(exactRanking(vectors, query: query, count: 15).suffix(5)))
        }
        await fixture.stop()
    }

    func testItemScoreIsItsBestFieldAndReplacedVectorsLeaveTheIndex() async throws {
        let fixture = try await MemoryTestServer.start()
        let client = fixture.client
        let root = MemoryTestData.uniqueRoot()
        let collection = "c-" + root
        try await client.ensureMemoryCollection(collection, dimension: 3, metric: .cosine)
        _ = try await client.putMemory(MemoryPutRequest(namespace: [root], key: "two-fields", value: "{}", collection: collection,
            vectors: [MemoryFieldVector(field: "title", vector: [1, 0, 0]), MemoryFieldVector(field: "body", vector: [0, 1, 0])]))
        _ = try await client.putMemory(MemoryPutRequest(namespace: [root], key: "other", value: "{}", collection: collection,
            vectors: [MemoryFieldVector(field: "title", vector: [0.7, 0.7, 0])]))
        let hits = try await client.searchMemories(MemorySearchRequest(
            namespacePrefix: [root], collection: collection, query: [0, 1, 0], limit: 10))
        XCTAssertEqual(hits.map(\.item.key), ["two-fields", "other"], "one entry per item, ranked by its best field")
        XCTAssertEqual(hits[0].score!, 1, accuracy: 1e-5)

        // Replacing the vectors removes the old ones from the index.
        _ = try await client.putMemory(MemoryPutRequest(namespace: [root], key: "two-fields", value: "{}", collection: collection,
            vectors: [MemoryFieldVector(field: "title", vector: [0, 0, 1])]))
        let after = try await client.searchMemories(MemorySearchRequest(
            namespacePrefix: [root], collection: collection, query: [0, 1, 0], limit: 10))
        XCTAssertEqual(after.map(\.item.key), ["other", "two-fields"])
        XCTAssertEqual(after[1].score!, 0, accuracy: 1e-5)

        // An item stored without vectors follows the scored ones without a score (as in
        // LangGraph's stores); deleted items leave the search.
        _ = try await client.putMemory(MemoryPutRequest(namespace: [root], key: "plain", value: "{}"))
        try await client.deleteMemory(namespace: [root], key: "other")
        let last = try await client.searchMemories(MemorySearchRequest(
            namespacePrefix: [root], collection: collection, query: [0, 1, 0], limit: 10))
        XCTAssertEqual(last.map(\.item.key), ["two-fields", "plain"])
        XCTAssertNotNil(last[0].score)
        XCTAssertNil(last[1].score)
        await fixture.stop()
    }

    func testItemsWithoutVectorsFollowTheRankingAcrossPages() async throws {
        let fixture = try await MemoryTestServer.start()
        let client = fixture.client
        let root = MemoryTestData.uniqueRoot()
        let collection = "c-" + root
        try await client.ensureMemoryCollection(collection, dimension: 2, metric: .cosine)
        for (key, vector) in [("s1", [Float(1), 0]), ("s2", [Float(1), 0.5]), ("s3", [Float(0), 1])] {
            _ = try await client.putMemory(MemoryPutRequest(namespace: [root], key: key, value: "{}", collection: collection,
                                                            vectors: [MemoryFieldVector(field: "v", vector: vector)]))
        }
        for key in ["u1", "u2"] {
            _ = try await client.putMemory(MemoryPutRequest(namespace: [root], key: key, value: "{}"))
        }
        func page(_ offset: UInt32, _ limit: UInt32) async throws -> [String] {
            try await client.searchMemories(MemorySearchRequest(namespacePrefix: [root], collection: collection,
                                                                query: [1, 0], limit: limit, offset: offset)).map(\.item.key)
        }
        let all = try await page(0, 10)
        XCTAssertEqual(all, ["s1", "s2", "s3", "u1", "u2"])
        let first = try await page(0, 2)
        XCTAssertEqual(first, ["s1", "s2"])
        let boundary = try await page(2, 2)
        XCTAssertEqual(boundary, ["s3", "u1"])
        let last = try await page(4, 2)
        XCTAssertEqual(last, ["u2"])
        await fixture.stop()
    }

    func testL2AndInnerProductScores() async throws {
        let fixture = try await MemoryTestServer.start()
        let client = fixture.client
        let root = MemoryTestData.uniqueRoot()
        for (metric, name) in [(MemoryMetric.l2, "l2"), (.innerProduct, "ip")] {
            let collection = "\(name)-\(root)"
            try await client.ensureMemoryCollection(collection, dimension: 2, metric: metric)
            for (key, vector) in [("near", [Float(1), 0]), ("far", [Float(3), 4])] {
                _ = try await client.putMemory(MemoryPutRequest(namespace: [root, name], key: key, value: "{}",
                    collection: collection, vectors: [MemoryFieldVector(field: "v", vector: vector)]))
            }
            let hits = try await client.searchMemories(MemorySearchRequest(
                namespacePrefix: [root, name], collection: collection, query: [1, 0], limit: 10))
            if metric == .l2 {
                XCTAssertEqual(hits.map(\.item.key), ["near", "far"])
                XCTAssertEqual(hits[0].score!, 0, accuracy: 1e-5)
                XCTAssertEqual(hits[1].score!, -(20.0).squareRoot(), accuracy: 1e-4)
            } else {
                XCTAssertEqual(hits.map(\.item.key), ["far", "near"])
                XCTAssertEqual(hits[0].score!, 3, accuracy: 1e-4)
                XCTAssertEqual(hits[1].score!, 1, accuracy: 1e-4)
            }
        }
        await fixture.stop()
    }

    func testWrongDimensionNaNUnknownCollectionAndConflicts() async throws {
        let fixture = try await MemoryTestServer.start()
        let client = fixture.client
        let root = MemoryTestData.uniqueRoot()
        let collection = "c-" + root
        try await client.ensureMemoryCollection(collection, dimension: 4, metric: .cosine)
        try await client.ensureMemoryCollection(collection, dimension: 4, metric: .cosine) // Same: fine.
        await XCTAssertServerError(.conflict) { try await client.ensureMemoryCollection(collection, dimension: 5, metric: .cosine) }
        await XCTAssertServerError(.conflict) { try await client.ensureMemoryCollection(collection, dimension: 4, metric: .l2) }
        await XCTAssertServerError(.invalidArgument) { try await client.ensureMemoryCollection("x" + root, dimension: 0, metric: .l2) }
        await XCTAssertServerError(.invalidArgument) {
            _ = try await client.send(opcode: .memoryCollectionEnsure,
                                      body: MemoryCollectionEnsureRequest(name: "m" + root, dimension: 4, metricByte: 9).encodedBody)
        }
        await XCTAssertServerError(.dimensionMismatch) {
            _ = try await client.putMemory(MemoryPutRequest(namespace: [root], key: "k", value: "{}", collection: collection,
                                                            vectors: [MemoryFieldVector(field: "v", vector: [1, 2, 3])]))
        }
        await XCTAssertServerError(.dimensionMismatch) {
            _ = try await client.searchMemories(MemorySearchRequest(namespacePrefix: [root], collection: collection,
                                                                    query: [1, 2, 3, 4, 5]))
        }
        await XCTAssertServerError(.invalidArgument) {
            _ = try await client.putMemory(MemoryPutRequest(namespace: [root], key: "k", value: "{}", collection: collection,
                                                            vectors: [MemoryFieldVector(field: "v", vector: [1, .nan, 3, 4])]))
        }
        await XCTAssertServerError(.invalidArgument) {
            _ = try await client.putMemory(MemoryPutRequest(namespace: [root], key: "k", value: "{}", collection: collection,
                                                            vectors: [MemoryFieldVector(field: "v", vector: [1, .infinity, 3, 4])]))
        }
        await XCTAssertServerError(.invalidArgument) {
            _ = try await client.putMemory(MemoryPutRequest(namespace: [root], key: "k", value: "{}", collection: collection,
                                                            vectors: [MemoryFieldVector(field: "v", vector: [0, 0, 0, 0])]))
        }
        await XCTAssertServerError(.invalidArgument) {
            _ = try await client.searchMemories(MemorySearchRequest(namespacePrefix: [root], query: [1, 2, 3, 4]))
        }
        await XCTAssertServerError(.notFound) {
            _ = try await client.putMemory(MemoryPutRequest(namespace: [root], key: "k", value: "{}", collection: "none-" + root,
                                                            vectors: [MemoryFieldVector(field: "v", vector: [1, 2, 3, 4])]))
        }
        await XCTAssertServerError(.notFound) {
            _ = try await client.searchMemories(MemorySearchRequest(namespacePrefix: [root], collection: "none-" + root,
                                                                    query: [1, 2, 3, 4]))
        }
        // Nothing was stored by the refused puts.
        let stored = try await client.memory(namespace: [root], key: "k")
        XCTAssertNil(stored)
        await fixture.stop()
    }

    func testSearchStreamsPagesOfAtMost256Items() async throws {
        let fixture = try await MemoryTestServer.start()
        let client = fixture.client
        let root = MemoryTestData.uniqueRoot()
        var operations: [MemoryBatchOperation] = []
        for index in 0..<600 {
            operations.append(MemoryBatchOperation(.memoryPut, MemoryPutRequest(namespace: [root], key: "k\(index)", value: "{}")))
        }
        let results = try await client.memoryBatch(operations)
        XCTAssertTrue(results.allSatisfy(\.isSuccess))
        let stream = try await client.stream(opcode: .memorySearch,
                                             body: MemorySearchRequest(namespacePrefix: [root], limit: 600).encodedBody)
        var pageSizes: [Int] = []
        for try await message in stream {
            pageSizes.append(try MemorySearchPage.decode(body: message.body).items.count)
        }
        XCTAssertEqual(pageSizes, [256, 256, 88])
        await fixture.stop()
    }
}
