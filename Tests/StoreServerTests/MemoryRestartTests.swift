// A new domain instance over the same PostgreSQL finds every item: by a full rebuild (no
// snapshot), and from a snapshot caught up with the puts and deletes made after it.
import Foundation
import XCTest
import StoreClient
import StoreServerCore
import WireProtocol

final class MemoryRestartTests: XCTestCase {
    private static let dimension = 8

    func testRestartRebuildsFromPostgresAndCatchesUpFromSnapshot() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("memory-snapshots-\(UUID().uuidString)").path
        defer {
            // Best effort: a leftover temporary directory harms nothing.
            try? FileManager.default.removeItem(atPath: directory)
        }
        let root = MemoryTestData.uniqueRoot()
        let collection = "c-" + root
        var generator = SplitMix64(state: 42)
        var vectors: [String: [Float]] = [:]

        let first = try await MemoryTestServer.start {
            $0.snapshotDirectory = directory
            $0.snapshotChangesMax = 150
            $0.tickInterval = .milliseconds(50)
        }
        try await first.client.ensureMemoryCollection(collection, dimension: Self.dimension, metric: .cosine)
        func put(_ client: StoreClient, _ index: Int) async throws {
            let vector = MemoryTestData.randomVector(dimension: Self.dimension, using: &generator)
            vectors["k\(index)"] = vector
            _ = try await client.putMemory(MemoryPutRequest(namespace: [root], key: "k\(index)", value: "{}",
                                                            collection: collection,
                                                            vectors: [MemoryFieldVector(field: "v", vector: vector)]))
        }
        for index in 0..<200 { try await put(first.client, index) }
        let snapshotFile = try await waitForSnapshot(in: directory)

        // After the snapshot: new items, replaced vectors and deletes, which a loaded snapshot
        // must replay from PostgreSQL.
        let snapshotTime = try FileManager.default.attributesOfItem(atPath: snapshotFile)[.modificationDate] as? Date
        for index in 200..<230 { try await put(first.client, index) }
        for index in 0..<10 { try await put(first.client, index) }
        for index in 10..<20 {
            try await first.client.deleteMemory(namespace: [root], key: "k\(index)")
            vectors["k\(index)"] = nil
        }
        let laterTime = try FileManager.default.attributesOfItem(atPath: snapshotFile)[.modificationDate] as? Date
        XCTAssertEqual(snapshotTime, laterTime, "the 50 later changes stay below the snapshot threshold")
        await first.stop()

        // From the snapshot plus catch-up.
        let fromSnapshot = try await MemoryTestServer.start { $0.snapshotDirectory = directory }
        try await fromSnapshot.waitUntilReady()
        let loadLog = fromSnapshot.log.collected
        XCTAssertTrue(loadLog.contains { $0.contains("loaded index snapshot") }, loadLog.joined(separator: "\n"))
        XCTAssertFalse(loadLog.contains { $0.contains("rebuilding") }, loadLog.joined(separator: "\n"))
        try await assertEveryItemIsFound(fromSnapshot.client, vectors: vectors, root: root, collection: collection)
        await fromSnapshot.stop()

        // Full rebuild (no snapshot directory).
        let rebuilt = try await MemoryTestServer.start()
        try await rebuilt.waitUntilReady()
        XCTAssertTrue(rebuilt.log.collected.contains { $0.contains("rebuilding index from PostgreSQL") })
        try await assertEveryItemIsFound(rebuilt.client, vectors: vectors, root: root, collection: collection)
        await rebuilt.stop()
    }

    private func waitForSnapshot(in directory: String) async throws -> String {
        for _ in 0..<200 {
            if let enumerator = FileManager.default.enumerator(atPath: directory) {
                for case let path as String in enumerator where path.hasSuffix(".agvi") {
                    return URL(fileURLWithPath: directory).appendingPathComponent(path).path
                }
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        XCTFail("no snapshot written in \(directory)")
        throw CancellationError()
    }

    /// Each item's own vector finds it first; deleted items are never found.
    private func assertEveryItemIsFound(_ client: StoreClient, vectors: [String: [Float]], root: String,
                                        collection: String) async throws {
        XCTAssertEqual(vectors.count, 220)
        for (key, vector) in vectors {
            let hits = try await client.searchMemories(MemorySearchRequest(namespacePrefix: [root], collection: collection,
                                                                           query: vector, limit: 1))
            XCTAssertEqual(hits.first?.item.key, key)
        }
        let all = try await client.searchMemories(MemorySearchRequest(namespacePrefix: [root], collection: collection,
                                                                      query: vectors.values.first!, limit: 1000))
        XCTAssertEqual(Set(all.map(\.item.key)), Set(vectors.keys))
    }
}
